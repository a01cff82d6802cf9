#if canImport(Glibc)
import Glibc
#endif

/// Row-wise softmax with the row maximum subtracted first (no overflow for any finite logits).
enum Softmax {
    static func rows<T: BinaryFloatingPoint & ElementaryFunctionsLite>(_ values: inout [T], columns: Int) {
        guard columns > 0 else { return }
        for start in stride(from: 0, to: values.count, by: columns) {
            var peak = values[start]
            for j in start..<(start + columns) { peak = max(peak, values[j]) }
            var sum: T = 0
            for j in start..<(start + columns) {
                values[j] = T.exponential(values[j] - peak)
                sum += values[j]
            }
            for j in start..<(start + columns) { values[j] /= sum }
        }
    }
}

/// `exp` for the two precisions the trainers use.
protocol ElementaryFunctionsLite { static func exponential(_ x: Self) -> Self; static func logarithm(_ x: Self) -> Self }
extension Float: ElementaryFunctionsLite {
    static func exponential(_ x: Float) -> Float { expf(x) }
    static func logarithm(_ x: Float) -> Float { logf(x) }
}
extension Double: ElementaryFunctionsLite {
    static func exponential(_ x: Double) -> Double { exp(x) }
    static func logarithm(_ x: Double) -> Double { log(x) }
}

import CkptSupport
import XCTest
@testable import TensorFormats

/// Narrowing and widening match NumPy (f16) and PyTorch (bf16, float8) bit for bit, pinned as
/// CRC-32s of the reference's outputs over the same input sweeps (tools/make_format_fixtures.py).
final class FloatConversionTests: XCTestCase {
    var pins: JSON!

    override func setUpWithError() throws {
        pins = try Fixtures.json("formats/float_conversions.json")
    }

    func pin(_ key: String) -> UInt32 { UInt32(pins[key]!.int!) }

    /// The f32 bit patterns the generator sweeps: 2²⁰ hashed patterns, then every exponent with
    /// mantissas at and around the f16 and bf16 rounding points, both signs.
    static func sweep32() -> [UInt32] {
        var bits = (0..<UInt64(1 << 20)).map { UInt32(truncatingIfNeeded: ($0 &* 2_654_435_761) & 0xFFFF_FFFF) }
        let mantissas: [UInt32] = [0, 1, 0xFFF, 0x1000, 0x1001, 0x2FFF, 0x3000, 0x3001, 0x7FFFFF, 0x7FF000, 0x7FE000,
                                   0x400000, 0x401000, 0xFFF, 0x2000, 0x6000, 0x7FFF, 0x8000, 0x8001, 0x18000]
        var edges: [UInt32] = []
        for e in UInt32(0)..<256 { for m in mantissas { edges.append(e << 23 | m) } }
        bits += edges + edges.map { $0 | 0x8000_0000 }
        return bits
    }

    static func sweep64() -> [UInt64] { (0..<UInt64(1 << 18)).map { $0 &* 0x9E37_79B9_7F4A_7C15 } }

    func testF32ToF16MatchesNumPyBitForBit() {
        let sweep = Self.sweep32()
        XCTAssertEqual(sweep.count, pins["sweep32_count"]!.int!)
        XCTAssertEqual(crc32(sweep.map { FloatBits.half(from: Float(bitPattern: $0)) }), pin("f32_to_f16_numpy"))
        XCTAssertEqual(crc32(Self.cast(sweep.map { Float(bitPattern: $0) }, to: .F16)), pin("f32_to_f16_numpy"), "the vectorised cast")
    }

    /// `ElementConversion.cast` of f32 values (the C kernels, on two threads) as 16-bit patterns.
    static func cast(_ values: [Float], to dtype: DType) -> [UInt16] {
        var out: [UInt8] = []
        values.withUnsafeBytes { raw in ElementConversion.cast(raw, from: .F32, to: dtype, count: values.count, threads: 2) { out += $0 } }
        return out.withUnsafeBytes { Array($0.bindMemory(to: UInt16.self)) }
    }

    func testF32ToBF16MatchesPyTorchBitForBit() {
        let values = Self.sweep32().map { Float(bitPattern: $0) }.filter { !$0.isNaN }
        XCTAssertEqual(crc32(values.map { FloatBits.bfloat16(from: $0) }), pin("f32_to_bf16_torch_non_nan"))
        XCTAssertEqual(crc32(Self.cast(values, to: .BF16)), pin("f32_to_bf16_torch_non_nan"), "the vectorised cast")
        XCTAssertEqual(Self.cast([.nan, -.nan], to: .BF16), [FloatBits.bfloat16(from: .nan), FloatBits.bfloat16(from: .nan)])
        XCTAssertTrue(FloatBits.float(fromBFloat16: FloatBits.bfloat16(from: .nan)).isNaN)
    }

    /// The cast into a destination writes what the streamed cast emits, from every float type
    /// (f32 also off its alignment, which goes through an f32 copy) to every target, over more
    /// than one chunk of that copy; its f32 → bf16 is PyTorch's.
    func testCastIntoADestinationWritesWhatTheStreamedCastEmits() {
        let values = Self.sweep32().map { Float(bitPattern: $0) }.filter { !$0.isNaN }
        XCTAssertGreaterThan(values.count, ElementConversion.chunk)
        func bytes<T>(_ elements: [T]) -> [UInt8] { elements.withUnsafeBytes { Array($0) } }
        let sources: [(DType, [UInt8])] = [(.F32, bytes(values)), (.F64, bytes(values.map { Double($0) })),
                                           (.F16, bytes(Self.cast(values, to: .F16))), (.BF16, bytes(Self.cast(values, to: .BF16)))]
        for (dtype, stored) in sources {
            for offset in dtype == .F32 ? [0, 1] : [0] {
                let shifted = [UInt8](repeating: 0, count: offset) + stored
                for target in ElementConversion.castTargets {
                    shifted.withUnsafeBytes { raw in
                        let source = UnsafeRawBufferPointer(rebasing: raw[offset...])
                        var streamed: [UInt8] = []
                        ElementConversion.cast(source, from: dtype, to: target, count: values.count, threads: 2) { streamed += $0 }
                        var direct = [UInt8](repeating: 0xAA, count: values.count * target.size)
                        direct.withUnsafeMutableBytes {
                            ElementConversion.cast(source, from: dtype, to: target, count: values.count, threads: 2, into: $0)
                        }
                        XCTAssertEqual(direct, streamed, "\(dtype) at offset \(offset) → \(target)")
                        if dtype == .F32 && target == .BF16 {
                            XCTAssertEqual(crc32(direct.withUnsafeBytes { Array($0.bindMemory(to: UInt16.self)) }), pin("f32_to_bf16_torch_non_nan"))
                        }
                    }
                }
            }
        }
    }

    func testEveryF16WidensLikeNumPy() {
        let widened = (0...UInt16.max).map { FloatBits.float(fromHalf: $0).bitPattern }
        XCTAssertEqual(crc32(widened), pin("f16_to_f32_numpy_all"))
    }

    func testF16RoundTripIsExactForEveryHalf() {
        for h in UInt16(0)...UInt16.max where !FloatBits.float(fromHalf: h).isNaN {
            XCTAssertEqual(FloatBits.half(from: FloatBits.float(fromHalf: h)), h)
        }
    }

    func testF64CastsMatchTheReference() throws {
        let doubles = Self.sweep64().map { Double(bitPattern: $0) }
        func cast(_ values: [Double], to dtype: DType) -> [UInt8] {
            var out: [UInt8] = []
            values.withUnsafeBytes { raw in
                ElementConversion.cast(raw, from: .F64, to: dtype, count: values.count, threads: 2) { out += $0 }
            }
            return out
        }
        XCTAssertEqual(crc32(cast(doubles, to: .F16)), pin("f64_to_f16_numpy"))
        XCTAssertEqual(crc32(cast(doubles, to: .F32)), pin("f64_to_f32_numpy"))
        XCTAssertEqual(crc32(cast(doubles.filter { !$0.isNaN }, to: .BF16)), pin("f64_to_bf16_torch_non_nan"))
    }

    func testFloat8WidensLikePyTorch() {
        let e4m3 = (0...UInt8.max).map { FloatBits.float(fromE4M3: $0).bitPattern }
        XCTAssertEqual(crc32(e4m3), pin("e4m3_to_f32_torch"))
        let e5m2 = (0...UInt8.max).map { FloatBits.float(fromE5M2: $0).bitPattern }
        XCTAssertEqual(crc32(e5m2), pin("e5m2_to_f32_torch"))
    }

    func testTiesRoundToEven() {
        XCTAssertEqual(FloatBits.half(from: Float(1 + 0x1p-11)), 0x3C00)  // halfway, even below
        XCTAssertEqual(FloatBits.half(from: Float(1 + 3 * 0x1p-11)), 0x3C02)  // halfway, even above
        XCTAssertEqual(FloatBits.half(from: Float(65520)), 0x7C00)
        XCTAssertEqual(FloatBits.half(from: Double(65519.99)), 0x7BFF)  // f64 rounds once: below the threshold  // rounds past the largest half
        XCTAssertEqual(FloatBits.half(from: Float(0x1p-25)), 0)  // halfway to the smallest subnormal
        XCTAssertEqual(FloatBits.bfloat16(from: Float(bitPattern: 0x3F80_8000)), 0x3F80)
        XCTAssertEqual(FloatBits.bfloat16(from: Float(bitPattern: 0x3F81_8000)), 0x3F82)
    }
}

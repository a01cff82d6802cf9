import Foundation

/// SplitMix64: a small, fast generator whose whole state is the seed, so a seed gives the same
/// initialisation, shuffles and dropout masks on every run and platform.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 24 random bits.
    public mutating func nextFloat() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// Standard normal, by the Box–Muller transform of two 53-bit uniforms.
    public mutating func nextGaussian() -> Double {
        let u = (Double(next() >> 11) + 1) * 0x1p-53, v = Double(next() >> 11) * 0x1p-53
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }

    /// A Fisher–Yates shuffle of `0..<count` driven by this generator alone.
    public mutating func permutation(_ count: Int) -> [Int] {
        var order = Array(0..<count)
        if count > 1 {
            for i in stride(from: count - 1, to: 0, by: -1) { order.swapAt(i, Int(next() % UInt64(i + 1))) }
        }
        return order
    }
}

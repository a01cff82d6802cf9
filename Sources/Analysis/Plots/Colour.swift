/// An sRGB colour, 8 bits per channel.
public struct Colour: Sendable, Equatable {
    public let red: UInt8, green: UInt8, blue: UInt8

    public init(_ red: UInt8, _ green: UInt8, _ blue: UInt8) { (self.red, self.green, self.blue) = (red, green, blue) }

    /// "#rrggbb".
    public var hex: String {
        "#" + [red, green, blue].map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// Matplotlib's viridis at `t` in [0, 1] (clamped), interpolated linearly between nine stops:
    /// dark to light, so it reads in greyscale, and distinguishable with the common colour-vision deficiencies.
    public static func viridis(_ t: Double) -> Colour {
        let stops: [(UInt8, UInt8, UInt8)] = [
            (0x44, 0x01, 0x54), (0x47, 0x2D, 0x7B), (0x3B, 0x52, 0x8B), (0x2C, 0x72, 0x8E), (0x21, 0x90, 0x8C),
            (0x27, 0xAD, 0x81), (0x5D, 0xC8, 0x63), (0xAA, 0xDC, 0x32), (0xFD, 0xE7, 0x25),
        ]
        let x = t.isNaN ? 0 : Swift.min(Swift.max(t, 0), 1) * Double(stops.count - 1)
        let i = Swift.min(Int(x), stops.count - 2), f = x - Double(i)
        func mix(_ a: UInt8, _ b: UInt8) -> UInt8 { UInt8((Double(a) + (Double(b) - Double(a)) * f).rounded()) }
        let (a, b) = (stops[i], stops[i + 1])
        return Colour(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
    }

    /// `count` colours spread over viridis (the light yellow end left out, which is hard to see on white).
    public static func categories(_ count: Int) -> [Colour] {
        count <= 1 ? [viridis(0.3)] : (0..<count).map { viridis(0.9 * Double($0) / Double(count - 1)) }
    }
}

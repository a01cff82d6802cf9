import CZlib

/// An RGB raster, written as a PNG (8-bit truecolour, zlib-compressed scanlines, no filter).
public struct PNGImage: Sendable {
    public let width: Int, height: Int
    private var pixels: [UInt8]

    /// A `width` × `height` image filled with `background`.
    public init(width: Int, height: Int, background: Colour = Colour(255, 255, 255)) {
        precondition(width > 0 && height > 0, "PNGImage: an empty image")
        (self.width, self.height) = (width, height)
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        fill(x: 0, y: 0, width: width, height: height, background)
    }

    /// Paints a rectangle, clipped to the image.
    public mutating func fill(x: Int, y: Int, width w: Int, height h: Int, _ colour: Colour) {
        for row in max(0, y)..<min(height, y + h) {
            for column in max(0, x)..<min(width, x + w) {
                let p = (row * width + column) * 3
                pixels[p] = colour.red; pixels[p + 1] = colour.green; pixels[p + 2] = colour.blue
            }
        }
    }

    /// A filled disc of `radius` pixels centred at (x, y).
    public mutating func disc(x: Double, y: Double, radius: Double, _ colour: Colour) {
        let r = Int(radius.rounded(.up))
        for dy in -r...r {
            for dx in -r...r where Double(dx * dx + dy * dy) <= radius * radius {
                fill(x: Int(x.rounded()) + dx, y: Int(y.rounded()) + dy, width: 1, height: 1, colour)
            }
        }
    }

    /// The PNG file's bytes.
    public var encoded: [UInt8] {
        var raw = [UInt8]()
        raw.reserveCapacity(height * (width * 3 + 1))
        for row in 0..<height {
            raw.append(0)  // filter type: none
            raw += pixels[(row * width * 3)..<((row + 1) * width * 3)]
        }
        var compressed = [UInt8](repeating: 0, count: Int(compressBound(uLong(raw.count))))
        var length = uLong(compressed.count)
        let status = compress2(&compressed, &length, raw, uLong(raw.count), 6)
        precondition(status == Z_OK, "PNGImage: zlib failed (\(status))")
        var header = [UInt8]()
        for value in [UInt32(width), UInt32(height)] { header += bigEndian(value) }
        header += [8, 2, 0, 0, 0]  // 8 bits per channel, truecolour, deflate, no filter, no interlace
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
            + chunk("IHDR", header) + chunk("IDAT", Array(compressed[0..<Int(length)])) + chunk("IEND", [])
    }

    private func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        let crc = body.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, uInt($0.count))) }
        return bigEndian(UInt32(data.count)) + body + bigEndian(crc)
    }

    private func bigEndian(_ value: UInt32) -> [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: value >> $0) } }
}

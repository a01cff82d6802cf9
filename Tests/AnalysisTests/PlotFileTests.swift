import Analysis
import CZlib
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest

/// The SVG files parse as XML (libxml2, through Foundation's XMLDocument) and the PNG files as PNG
/// (signature, chunk CRCs and zlib-inflated scanlines checked against the header).
final class PlotFileTests: XCTestCase {
    static let tokens = ["[CLS]", "a<b & \"c\"", "ünï", "\u{01}", "[SEP]"]

    func heatmap(rows: Int, columns: Int) -> Heatmap {
        let T = Self.tokens.count
        let maps = (0..<rows).map { r in (0..<columns).map { c in (0..<(T * T)).map { Float(($0 + r + c) % 7) / 7 } } }
        return Heatmap(tokens: Self.tokens, rowTitles: (0..<rows).map { "layer \($0)" }, columnTitles: (0..<columns).map { "head \($0)" }, maps: maps)
    }

    func testHeatmapSVGParsesAsXMLWithTokenLabelsOnBothAxes() throws {
        for (rows, columns) in [(1, 1), (2, 3)] {
            let document = try XMLDocument(xmlString: heatmap(rows: rows, columns: columns).svg)
            let cells = try document.nodes(forXPath: "//*[local-name()='g'][@class='map']/*[local-name()='rect']")
            XCTAssertEqual(cells.count, rows * columns * Self.tokens.count * Self.tokens.count)
            let labels = try document.nodes(forXPath: "//*[local-name()='text']").compactMap(\.stringValue)
            for token in ["a<b & \"c\"", "ünï", "[SEP]"] {
                // The rows of each grid row's first map and the columns of each map of the last grid row.
                XCTAssertEqual(labels.filter { $0 == token }.count, rows + columns, "\(token) labels both axes")
            }
        }
    }

    func testScatterSVGParsesAsXMLWithALegendEntryPerLabel() throws {
        let plot = ScatterPlot(points: [0, 0, 1, 1, 2, 0.5, -1, 3], labels: ["NUM", "LOC", "NUM", "<odd>"], title: "t-SNE")
        let document = try XMLDocument(xmlString: plot.svg)
        XCTAssertEqual(try document.nodes(forXPath: "//*[local-name()='circle']").count, 4)
        let labels = try document.nodes(forXPath: "//*[local-name()='text']").compactMap(\.stringValue)
        XCTAssertEqual(labels, ["t-SNE", "NUM", "LOC", "<odd>"])
        XCTAssertEqual(Set(plot.legend.map(\.colour.hex)).count, 3)
    }

    /// Decodes an 8-bit RGB PNG as written, checking every rule a reader relies on; returns the pixels.
    func decodePNG(_ bytes: [UInt8]) throws -> (width: Int, height: Int, pixels: [UInt8]) {
        XCTAssertEqual(Array(bytes[0..<8]), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var position = 8, width = 0, height = 0, data: [UInt8] = [], ended = false
        func uint32(_ at: Int) -> Int {
            var value = 0
            for i in 0..<4 { value = value << 8 | Int(bytes[at + i]) }
            return value
        }
        while position < bytes.count {
            let length = uint32(position), type = String(decoding: bytes[(position + 4)..<(position + 8)], as: UTF8.self)
            let body = Array(bytes[(position + 4)..<(position + 8 + length)])
            let crc = body.withUnsafeBufferPointer { Int(crc32(0, $0.baseAddress, uInt($0.count))) }
            XCTAssertEqual(crc, uint32(position + 8 + length), "\(type) CRC")
            let content = Array(body.dropFirst(4))
            switch type {
            case "IHDR":
                width = uint32(position + 8)
                height = uint32(position + 12)
                XCTAssertEqual(Array(content[8..<13]), [8, 2, 0, 0, 0])
            case "IDAT": data += content
            case "IEND": ended = true
            default: XCTFail("unexpected chunk \(type)")
            }
            position += 12 + length
        }
        XCTAssertTrue(ended)
        var raw = [UInt8](repeating: 0, count: height * (1 + 3 * width))
        var rawLength = uLong(raw.count)
        XCTAssertEqual(uncompress(&raw, &rawLength, data, uLong(data.count)), Z_OK)
        XCTAssertEqual(Int(rawLength), raw.count)
        var pixels: [UInt8] = []
        let stride = 1 + 3 * width
        for row in 0..<height {
            let start: Int = row * stride
            XCTAssertEqual(raw[start], 0, "filter type")
            pixels += raw[(start + 1)..<(start + stride)]
        }
        return (width, height, pixels)
    }

    func testHeatmapAndScatterPNGsDecode() throws {
        let image = try decodePNG(heatmap(rows: 2, columns: 2).png.encoded)
        XCTAssertGreaterThan(image.width, 2 * Self.tokens.count)
        // The top-left cell of the first map is the first weight's viridis colour.
        let first = Colour.viridis(0)
        let corner: Int = (8 * image.width + 8) * 3
        XCTAssertEqual(Array(image.pixels[corner..<(corner + 3)]), [first.red, first.green, first.blue])
        let scatter = try decodePNG(ScatterPlot(points: [0, 0, 1, 1], labels: ["a", "b"], title: "").png.encoded)
        XCTAssertEqual(scatter.pixels.count, scatter.width * scatter.height * 3)
    }

    func testViridisRunsDarkToLightSoItReadsInGreyscale() {
        let luminance = (0...20).map { i -> Double in
            let c = Colour.viridis(Double(i) / 20)
            let red = 0.2126 * Double(c.red), green = 0.7152 * Double(c.green), blue = 0.0722 * Double(c.blue)
            return red + green + blue
        }
        XCTAssertEqual(luminance, luminance.sorted())
        XCTAssertEqual(Colour.viridis(0).hex, "#440154")
        XCTAssertEqual(Colour.viridis(1).hex, "#fde725")
    }
}

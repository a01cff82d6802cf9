/// Attention heatmaps: one [T, T] map, or a grid of them (layers × heads), drawn with viridis
/// (0 dark, the grid's largest weight light) as SVG with the tokens on both axes, or as PNG pixels.
public struct Heatmap: Sendable {
    public let tokens: [String]
    /// Row labels (one per grid row, e.g. "layer 2") and column labels ("head 5").
    public let rowTitles: [String]
    public let columnTitles: [String]
    /// maps[row][column]: [T, T] row-major (query rows, key columns).
    public let maps: [[[Float]]]

    public init(tokens: [String], rowTitles: [String], columnTitles: [String], maps: [[[Float]]]) {
        precondition(maps.count == rowTitles.count && maps.allSatisfy { $0.count == columnTitles.count }, "Heatmap: titles do not match the grid")
        precondition(maps.allSatisfy { $0.allSatisfy { $0.count == tokens.count * tokens.count } }, "Heatmap: a map is not [T, T]")
        (self.tokens, self.rowTitles, self.columnTitles, self.maps) = (tokens, rowTitles, columnTitles, maps)
    }

    private var largest: Float { max(maps.flatMap { $0.flatMap { $0 } }.max() ?? 0, 1e-12) }
    private var single: Bool { maps.count == 1 && maps[0].count == 1 }

    /// Cell size and label room: a single map gets larger cells and labels on both axes; in a grid
    /// the tokens label the first column's rows and the last row's columns.
    private var cell: Double { single ? max(12, min(28, 640 / Double(max(1, tokens.count)))) : max(3, min(14, 160 / Double(max(1, tokens.count)))) }

    /// The SVG document.
    public var svg: String {
        let T = tokens.count, c = cell, size = Double(T) * c, gap = 18.0
        let longest = Double(tokens.map(\.count).max() ?? 1)
        let fontSize = single ? min(12, c * 0.8) : min(9, max(6, c))
        let labelRoom = min(160, 8 + longest * fontSize * 0.62)
        let left = labelRoom + 70, top = 28.0
        let width = left + Double(columnTitles.count) * (size + gap) + 10
        let height = top + Double(rowTitles.count) * (size + gap + 14) + labelRoom
        var out = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n"
        out += #"<svg xmlns="http://www.w3.org/2000/svg" width="\#(svgNumber(width))" height="\#(svgNumber(height))" "#
        out += #"font-family="sans-serif" font-size="\#(svgNumber(fontSize))">"# + "\n"
        out += ##"<rect width="100%" height="100%" fill="#ffffff"/>"## + "\n"
        let scale = Double(largest)
        for (r, row) in maps.enumerated() {
            let y0 = top + Double(r) * (size + gap + 14) + 14
            out += #"<text x="4" y="\#(svgNumber(y0 + size / 2))" font-weight="bold">\#(xmlEscaped(rowTitles[r]))</text>"# + "\n"
            for (column, map) in row.enumerated() {
                let x0 = left + Double(column) * (size + gap)
                out += #"<text x="\#(svgNumber(x0))" y="\#(svgNumber(y0 - 4))">\#(xmlEscaped(columnTitles[column]))</text>"# + "\n"
                out += #"<g class="map">"#
                for q in 0..<T {
                    for k in 0..<T {
                        let v = map[q * T + k]
                        out += #"<rect x="\#(svgNumber(x0 + Double(k) * c))" y="\#(svgNumber(y0 + Double(q) * c))" width="\#(svgNumber(c))" height="\#(svgNumber(c))" fill="\#(Colour.viridis(Double(v) / scale).hex)"><title>\#(xmlEscaped(tokens[q])) → \#(xmlEscaped(tokens[k])): \#(v)</title></rect>"#
                    }
                }
                out += "</g>\n"
                if column == 0 {
                    for (q, token) in tokens.enumerated() {
                        out += #"<text x="\#(svgNumber(x0 - 4))" y="\#(svgNumber(y0 + (Double(q) + 0.7) * c))" text-anchor="end">\#(xmlEscaped(token))</text>"# + "\n"
                    }
                }
                if r == maps.count - 1 {
                    for (k, token) in tokens.enumerated() {
                        let x = x0 + (Double(k) + 0.7) * c, y = y0 + size + 4
                        out += #"<text x="\#(svgNumber(x))" y="\#(svgNumber(y))" text-anchor="end" transform="rotate(-90 \#(svgNumber(x)) \#(svgNumber(y)))">\#(xmlEscaped(token))</text>"# + "\n"
                    }
                }
            }
        }
        out += "</svg>\n"
        return out
    }

    /// The grid as pixels (no text): each weight a square of `pixels` pixels, maps 8 pixels apart.
    public var png: PNGImage {
        let T = tokens.count
        let pixels = max(1, min(24, (single ? 720 : 144) / max(1, T))), size = T * pixels, gap = 8
        var image = PNGImage(width: gap + maps[0].count * (size + gap), height: gap + maps.count * (size + gap))
        let scale = Double(largest)
        for (r, row) in maps.enumerated() {
            for (column, map) in row.enumerated() {
                let x0 = gap + column * (size + gap), y0 = gap + r * (size + gap)
                for q in 0..<T {
                    for k in 0..<T {
                        image.fill(x: x0 + k * pixels, y: y0 + q * pixels, width: pixels, height: pixels, .viridis(Double(map[q * T + k]) / scale))
                    }
                }
            }
        }
        return image
    }
}

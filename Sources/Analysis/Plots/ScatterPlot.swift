/// A 2-D scatter plot of projected points, coloured by label (viridis categories) with a legend, as
/// SVG or PNG. Points without labels are drawn in one colour.
public struct ScatterPlot: Sendable {
    /// [N, 2] row-major.
    public let points: [Double]
    /// One label per point, or empty.
    public let labels: [String]
    public let title: String

    public init(points: [Double], labels: [String], title: String) {
        precondition(points.count % 2 == 0 && (labels.isEmpty || labels.count == points.count / 2), "ScatterPlot: one label per point")
        (self.points, self.labels, self.title) = (points, labels, title)
    }

    /// Distinct labels in order of first appearance, with their colours.
    public var legend: [(label: String, colour: Colour)] {
        var seen: [String] = []
        var known = Set<String>()
        for label in labels where known.insert(label).inserted { seen.append(label) }
        return Array(zip(seen, Colour.categories(seen.count)))
    }

    private static let plotSize = 640.0, margin = 20.0

    /// Maps data coordinates into the square plot area (aspect ratio kept).
    private func placed() -> [(x: Double, y: Double)] {
        let n = points.count / 2
        guard n > 0 else { return [] }
        let xs = (0..<n).map { points[2 * $0] }, ys = (0..<n).map { points[2 * $0 + 1] }
        let (minX, maxX, minY, maxY) = (xs.min()!, xs.max()!, ys.min()!, ys.max()!)
        let span = max(maxX - minX, maxY - minY, 1e-12), inner = Self.plotSize - 2 * Self.margin
        let offsetX = (span - (maxX - minX)) / 2, offsetY = (span - (maxY - minY)) / 2
        return (0..<n).map { i in
            (Self.margin + (xs[i] - minX + offsetX) / span * inner, Self.margin + (maxY - ys[i] + offsetY) / span * inner)
        }
    }

    private func colours() -> [Colour] {
        let index = Dictionary(uniqueKeysWithValues: legend.map { ($0.label, $0.colour) })
        return labels.isEmpty ? Array(repeating: Colour.viridis(0.3), count: points.count / 2) : labels.map { index[$0]! }
    }

    /// The SVG document: the points, a title, and the legend on the right.
    public var svg: String {
        let legend = legend, size = Self.plotSize
        let legendWidth = legend.isEmpty ? 0 : 30 + 7 * Double(min(40, legend.map(\.label.count).max() ?? 0))
        let height = max(size + 30, 40 + 18 * Double(legend.count))
        var out = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n"
        out += #"<svg xmlns="http://www.w3.org/2000/svg" width="\#(svgNumber(size + legendWidth))" height="\#(svgNumber(height))" font-family="sans-serif" font-size="12">"# + "\n"
        out += ##"<rect width="100%" height="100%" fill="#ffffff"/>"## + "\n"
        out += #"<text x="\#(svgNumber(Self.margin))" y="16" font-weight="bold">\#(xmlEscaped(title))</text>"# + "\n"
        out += #"<g transform="translate(0 24)" class="points">"# + "\n"
        for ((x, y), colour) in zip(placed(), colours()) {
            out += #"<circle cx="\#(svgNumber(x))" cy="\#(svgNumber(y))" r="2.5" fill="\#(colour.hex)" fill-opacity="0.8"/>"# + "\n"
        }
        out += "</g>\n"
        for (i, entry) in legend.enumerated() {
            let y = 40 + 18 * Double(i)
            out += #"<rect x="\#(svgNumber(size + 8))" y="\#(svgNumber(y - 10))" width="12" height="12" fill="\#(entry.colour.hex)"/>"#
            out += #"<text x="\#(svgNumber(size + 26))" y="\#(svgNumber(y))">\#(xmlEscaped(entry.label))</text>"# + "\n"
        }
        out += "</svg>\n"
        return out
    }

    /// The points as pixels, with the legend's colours as a column of squares on the right (no text).
    public var png: PNGImage {
        let legend = legend, size = Int(Self.plotSize)
        var image = PNGImage(width: size + (legend.isEmpty ? 0 : 40), height: max(size, 20 + 20 * legend.count))
        for ((x, y), colour) in zip(placed(), colours()) { image.disc(x: x, y: y, radius: 2.5, colour) }
        for (i, entry) in legend.enumerated() { image.fill(x: size + 12, y: 12 + 20 * i, width: 14, height: 14, entry.colour) }
        return image
    }
}

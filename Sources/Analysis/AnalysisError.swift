import Foundation

/// What can go wrong in projections, search, similarity and attention views.
public enum AnalysisError: Error, Equatable, CustomStringConvertible {
    /// A selection outside what the model has: what was asked, and the valid range.
    case outOfRange(String, String)
    /// Too few points for t-SNE at this perplexity.
    case tooFewPoints(points: Int, perplexity: Double)
    /// Inputs that cannot be used (empty, malformed).
    case badInput(String)

    public var description: String {
        switch self {
        case .outOfRange(let what, let range): "\(what) does not exist; the model has \(range)"
        case .tooFewPoints(let points, let perplexity):
            "t-SNE needs more than 3 × perplexity points: \(points) points at perplexity \(formatted(perplexity)); "
                + "use a perplexity below \(formatted(Double(points - 1) / 3)), more points, or PCA"
        case .badInput(let problem): problem
        }
    }

    private func formatted(_ x: Double) -> String {
        x == x.rounded() ? String(Int(x)) : String(format: "%.2f", x)
    }
}

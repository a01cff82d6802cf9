import Analysis
import CkptSupport
import Foundation
import HeadTraining
import XCTest

/// PCA against scikit-learn; t-SNE against openTSNE's quality on the same points.
final class ProjectionReferenceTests: XCTestCase {
    func testPCAMatchesScikitLearnUpToEachComponentsSign() throws {
        let x = try FeatureMatrix(file: AnalysisFixtures.repository + "/fixtures/heads/trec-train-minilm.npy")
        let g = try AnalysisFixtures.arrays("pca.npz")
        let pca = PCA(x.values, rows: x.rows, dimension: x.dimension, components: 2, threads: 2)
        let ours = pca.transform(x.values, rows: x.rows).map(Float.init), reference = try g.values("coordinates")
        for c in 0..<2 {
            let dot = (0..<x.rows).reduce(Float(0)) { $0 + ours[2 * $1 + c] * reference[2 * $1 + c] }
            let sign: Float = dot < 0 ? -1 : 1
            let difference = (0..<x.rows).map { abs(sign * ours[2 * $0 + c] - reference[2 * $0 + c]) }.max()!
            XCTAssertLessThan(difference, 1e-4, "component \(c): coordinates differ by up to \(difference)")
        }
        let variance = try g.values("explained_variance")
        for c in 0..<2 { XCTAssertEqual(pca.explainedVariance[c], Double(variance[c]), accuracy: 1e-6 * Double(variance[c])) }
        // The sign convention: each component's largest loading is positive.
        for c in 0..<2 {
            let row = pca.components[(c * x.dimension)..<((c + 1) * x.dimension)]
            XCTAssertGreaterThan(row.max { abs($0) < abs($1) }!, 0)
        }
    }

    /// Trustworthiness (scikit-learn's definition): 1 − 2 / (n k (2n − 3k − 1)) · Σ_i Σ_{j ∈ U_i} (r(i, j) − k),
    /// U_i the embedding's k nearest neighbours of i that are not among its k nearest in the input,
    /// r their rank by input distance.
    func trustworthiness(_ x: FeatureMatrix, _ y: [Double], k: Int) -> Double {
        let n = x.rows, D = x.dimension
        var penalty = 0.0
        for i in 0..<n {
            let input = (0..<n).map { j -> Double in
                j == i ? -1 : (0..<D).reduce(0.0) { $0 + Double(x.values[i * D + $1] - x.values[j * D + $1]) * Double(x.values[i * D + $1] - x.values[j * D + $1]) }
            }
            let rankOf = Dictionary(uniqueKeysWithValues: (0..<n).sorted { (input[$0], $0) < (input[$1], $1) }.enumerated().map { ($1, $0) })
            let embedded = (0..<n).filter { $0 != i }.sorted {
                let a = pow(y[2 * i] - y[2 * $0], 2) + pow(y[2 * i + 1] - y[2 * $0 + 1], 2)
                let b = pow(y[2 * i] - y[2 * $1], 2) + pow(y[2 * i + 1] - y[2 * $1 + 1], 2)
                return (a, $0) < (b, $1)
            }.prefix(k)
            for j in embedded where rankOf[j]! > k { penalty += Double(rankOf[j]! - k) }
        }
        return 1 - 2 / (Double(n * k) * Double(2 * n - 3 * k - 1)) * penalty
    }

    func testTSNEIsAsTrustworthyAsOpenTSNEAndAsClose() throws {
        let x = try FeatureMatrix(file: AnalysisFixtures.repository + "/fixtures/minilm/embeddings.npy")
        let reference = try AnalysisFixtures.json("tsne.json")
        var settings = TSNE.Settings()
        settings.perplexity = reference["perplexity"]!.double!
        settings.iterations = reference["iterations"]!.int!
        let tsne = try TSNE(x.values, rows: x.rows, dimension: x.dimension, settings: settings, threads: 2)
        let ours = trustworthiness(x, tsne.embedding, k: 10), theirs = reference["trustworthiness"]!.double!
        XCTAssertEqual(ours, theirs, accuracy: 0.01, "trustworthiness \(ours) against openTSNE's \(theirs)")
        let kl = reference["kl_divergence"]!.double!
        XCTAssertEqual(tsne.klDivergence, kl, accuracy: 0.1 * kl, "KL divergence \(tsne.klDivergence) against openTSNE's \(kl)")
    }

    func testTSNEGivesTheSameBitsAtAnyThreadCount() throws {
        let x = try FeatureMatrix(file: AnalysisFixtures.repository + "/fixtures/minilm/embeddings.npy")
        var settings = TSNE.Settings()
        settings.perplexity = 5
        settings.iterations = 50
        settings.exaggerationIterations = 50
        let one = try TSNE(x.values, rows: x.rows, dimension: x.dimension, settings: settings, threads: 1)
        let two = try TSNE(x.values, rows: x.rows, dimension: x.dimension, settings: settings, threads: 2)
        XCTAssertEqual(one.embedding, two.embedding)
        XCTAssertEqual(one.klDivergence, two.klDivergence)
    }

    func testTSNERefusesTooFewPointsAndSaysWhatToUse() throws {
        var settings = TSNE.Settings()
        settings.perplexity = 30
        XCTAssertThrowsError(try TSNE([Float](repeating: 0, count: 50 * 4), rows: 50, dimension: 4, settings: settings, threads: 1)) { error in
            XCTAssertEqual("\(error)", "t-SNE needs more than 3 × perplexity points: 50 points at perplexity 30; "
                           + "use a perplexity below 16.33, more points, or PCA")
        }
    }
}

import Analysis
import ArgumentParser
import CkptSupport
import Foundation
import HeadTraining
import Transformers

struct Similarity: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The cosine similarity of the features of each pair of texts, one number per line.",
        discussion: """
            INPUT: a .tsv with a header naming columns sentence1 and sentence2 (and optionally score), or lines \
            "first<TAB>second"; absent or "-": stdin. With a score column, the Spearman and Pearson correlations of \
            the similarities to the scores go to stderr (an STS evaluation).
            """
    )

    @Option(help: "A model directory (config.json, weights, tokenizer files) or a .gguf file.")
    var model: String

    @OptionGroup var encoding: EncodingOptions

    @Argument(help: "Pairs of texts (default: stdin).")
    var input: String?

    func run() throws {
        try reportingFailure {
            let path = input ?? "-"
            let pairs = try attributing(to: InputLines.displayName(path)) { try Self.pairs(InputLines.lines(of: path, quiet: encoding.quiet)) }
            let extractor = try encoding.extractor(for: model)
            // Each distinct text is encoded once.
            var unique: [String] = [], position: [String: Int] = [:]
            for text in pairs.first + pairs.second where position[text] == nil {
                position[text] = unique.count
                unique.append(text)
            }
            let features = try encoding.encode(unique, extractor: extractor, cache: encoding.cache(for: extractor, model: model), source: path)
            let cosines = zip(pairs.first, pairs.second).map { Self.cosine(features, position[$0]!, position[$1]!) }
            try writeOutput(Array(cosines.map { "\(Float($0))\n" }.joined().utf8), to: nil, overwrite: false)
            if let scores = pairs.scores {
                printError("spearman \(String(format: "%.4f", Correlation.spearman(cosines, scores))) "
                           + "pearson \(String(format: "%.4f", Correlation.pearson(cosines, scores))) over \(scores.count) pairs")
            }
        }
    }

    /// cos(a, b) of two feature rows, in double precision.
    private static func cosine(_ m: FeatureMatrix, _ a: Int, _ b: Int) -> Double {
        var dot = 0.0, aa = 0.0, bb = 0.0
        for j in 0..<m.dimension {
            let x = Double(m.values[a * m.dimension + j]), y = Double(m.values[b * m.dimension + j])
            dot += x * y; aa += x * x; bb += y * y
        }
        return aa > 0 && bb > 0 ? dot / (aa * bb).squareRoot() : 0
    }

    /// The pairs of a table with sentence1/sentence2 (and score) columns, or of "first<TAB>second" lines.
    static func pairs(_ lines: [String]) throws -> (first: [String], second: [String], scores: [Double]?) {
        let header = lines.first?.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) ?? []
        if header.contains("sentence1") && header.contains("sentence2") {
            let hasScore = header.contains("score")
            let rows = try TextInput.table(lines, format: .tsv, columns: ["sentence1", "sentence2"] + (hasScore ? ["score"] : []))
            let scores = try hasScore ? rows.enumerated().map { number, row in
                guard let score = Double(row[2]) else { throw AnalysisError.badInput("line \(number + 2): score '\(row[2])' is not a number") }
                return score
            } : nil
            return (rows.map { $0[0] }, rows.map { $0[1] }, scores)
        }
        var first: [String] = [], second: [String] = []
        for (number, line) in lines.enumerated() where !line.isEmpty {
            guard let tab = line.firstIndex(of: "\t") else {
                throw AnalysisError.badInput("line \(number + 1) has no tab; give 'first<TAB>second' pairs or a header with sentence1 and sentence2")
            }
            first.append(String(line[..<tab]))
            second.append(String(line[line.index(after: tab)...]))
        }
        return (first, second, nil)
    }
}

import Analysis
import ArgumentParser
import CkptSupport
import Foundation
import HeadTraining
import Transformers

struct Search: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Semantic search: the corpus texts closest to each query by the cosine of their features (exact).",
        discussion: """
            --corpus: a .txt (a text per line) or a .tsv/.csv/.jsonl (--text-column); encoded once and kept in the \
            feature cache. Queries: the QUERY arguments, else one per line on stdin. tsv: a header, then query, rank, \
            score, index (0-based corpus row, a header not counted) and text per hit; jsonl: {"query", "rank", "score", \
            "index", "text"}.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable { case tsv, jsonl }

    @Option(help: "A model directory (config.json, weights, tokenizer files) or a .gguf file.")
    var model: String

    @Option(help: "The texts to search.")
    var corpus: String

    @Option(help: "Hits per query.")
    var topK: Int = 10

    @Option(help: "tsv or jsonl.")
    var format: Format = .tsv

    @Option(help: "Column (TSV/CSV) or field (JSONL) of --corpus holding the text.")
    var textColumn: String = "text"

    @OptionGroup var encoding: EncodingOptions

    @Argument(help: "Queries (default: one per line on stdin).")
    var queries: [String] = []

    func validate() throws {
        if topK < 1 { throw ValidationError("--top-k must be at least 1") }
    }

    func run() throws {
        try reportingFailure {
            let texts = try encoding.texts(corpus, column: textColumn)
            let queryTexts = queries.isEmpty ? try InputLines.lines(of: "-", quiet: encoding.quiet).filter { !$0.isEmpty } : queries
            let extractor = try encoding.extractor(for: model)
            let cache = try encoding.cache(for: extractor, model: model)
            let index = SemanticSearch(corpus: try encoding.encode(texts, extractor: extractor, cache: cache, source: corpus))
            let queryFeatures = try encoding.encode(queryTexts, extractor: extractor, cache: nil, source: "queries")
            let hits = index.search(queryFeatures, top: topK, threads: encoding.parallel.threads)
            var out = format == .tsv ? "query\trank\tscore\tindex\ttext\n" : ""
            for (query, found) in zip(queryTexts, hits) {
                for (rank, hit) in found.enumerated() {
                    let text = texts[hit.index]
                    switch format {
                    case .tsv:
                        out += "\(TextInput.tsvCell(query))\t\(rank + 1)\t\(hit.score)\t\(hit.index)\t\(TextInput.tsvCell(text))\n"
                    case .jsonl:
                        out += #"{"query":\#(JSON.string(query).compactText),"rank":\#(rank + 1),"score":\#(hit.score),"index":\#(hit.index),"text":\#(JSON.string(text).compactText)}"# + "\n"
                    }
                }
            }
            try writeOutput(Array(out.utf8), to: nil, overwrite: false)
        }
    }
}

import CkptSupport
import Foundation
import TensorFormats
import XCTest

/// `ckpt attention`, `project`, `similarity` and `search` on the real all-MiniLM-L6-v2 against the
/// reference outputs of tools/make_analysis_fixtures.py, and their bad inputs.
final class AnalysisCommandTests: XCTestCase {
    let model = ProcessInfo.processInfo.environment["CKPT_MINILM"] ?? Ckpt.repository.path + "/.cache/models/all-MiniLM-L6-v2"
    let analysis = Ckpt.fixtures + "/analysis"
    let text = "The quick brown fox jumps over the lazy dog."

    func reference(_ name: String) throws -> (values: [Float], shape: [Int]) {
        let file = try Checkpoint(path: analysis + "/attention_minilm.npz")
        return (try file.tensor(named: name).floats(), file.tensors.first { $0.name == name }!.shape)
    }

    func numbers(_ json: JSON?) -> [Float] {
        guard let json else { return [] }
        if let array = json.array { return array.flatMap(numbers) }
        return [Float(json.double!)]
    }

    func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        XCTAssertEqual(a.count, b.count)
        return zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
    }

    func testAttentionJSONMatchesTransformersAndRolloutMatchesNumPy() throws {
        let result = try Ckpt.run(["attention", "--model", model, "--rollout", text])
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try JSON.parse(result.stdout)
        XCTAssertEqual(json["tokens"]?.array?.compactMap(\.string).first, "[CLS]")
        XCTAssertEqual(json["layers"]?.int, 6)
        XCTAssertEqual(json["heads"]?.int, 12)
        let attention = try reference("attentions_text"), rollout = try reference("rollout_text")
        XCTAssertEqual(json["attention"]?.array?.count, 6)
        XCTAssertLessThan(maxDifference(numbers(json["attention"]), attention.values), 1e-5)
        let T = attention.shape[2]
        XCTAssertLessThan(maxDifference(numbers(json["rollout"]), Array(rollout.values[(5 * T * T)...])), 1e-5)
        XCTAssertLessThan(maxDifference(numbers(json["rollout_by_layer"]), rollout.values), 1e-5)
    }

    func testOneLayerAndTheMeanOfHeadsDropThoseLevels() throws {
        let result = try Ckpt.run(["attention", "--model", model, "--layer", "2", "--head", "mean", "Who wrote Hamlet?", "Shakespeare wrote it around 1600."])
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try JSON.parse(result.stdout)
        let pair = try reference("attentions_pair"), T = pair.shape[2]
        let rows = try XCTUnwrap(json["attention"]?.array)
        XCTAssertEqual(rows.count, T)
        XCTAssertEqual(rows[0].array?.count, T)
        // The mean of layer 2's heads of the reference.
        var mean = [Float](repeating: 0, count: T * T)
        for h in 0..<12 { for i in 0..<(T * T) { mean[i] += pair.values[(2 * 12 + h) * T * T + i] / 12 } }
        XCTAssertLessThan(maxDifference(numbers(json["attention"]), mean), 1e-5)
    }

    func testGPT2AttentionIsCausalAndTakesOneText() throws {
        let gpt2 = Ckpt.fixtures + "/gpt2/lmhead"
        let result = try Ckpt.run(["attention", "--model", gpt2, "--layer", "1", "--head", "0", "The quick brown fox"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try JSON.parse(result.stdout)
        let T = try XCTUnwrap(json["tokens"]?.array?.count)
        XCTAssertEqual(json["tokens"]?.array?.compactMap(\.string), ["The", "Ġquick", "Ġbrown", "Ġfox"])
        let rows = try XCTUnwrap(json["attention"]?.array).map(numbers)
        for (q, row) in rows.enumerated() {
            XCTAssertEqual(row.reduce(0, +), 1, accuracy: 1e-5)
            XCTAssertTrue(row[(q + 1)..<T].allSatisfy { $0 == 0 }, "query \(q) attends to a later token")
        }
        let pair = try Ckpt.run(["attention", "--model", gpt2, "one", "two"])
        XCTAssertEqual(pair.status, 64)
        XCTAssertTrue(pair.stderr.contains("GPT-2 takes one text"), pair.stderr)
    }

    func testAttentionBadInputsAreOneLineErrors() throws {
        let layer = try Ckpt.run(["attention", "--model", model, "--layer", "99", text])
        XCTAssertEqual(layer.status, 1)
        XCTAssertEqual(layer.stderr, "error: \(model): layer 99 does not exist; the model has 0 ... 5\n")
        let head = try Ckpt.run(["attention", "--model", model, "--head", "12", text])
        XCTAssertEqual(head.stderr, "error: \(model): head 12 does not exist; the model has 0 ... 11\n")
        let empty = try Ckpt.run(["attention", "--model", model, " "])
        XCTAssertEqual(empty.status, 1)
        XCTAssertEqual(empty.stderr, "error: the text is empty; give a text to look at\n")
        let long = try Ckpt.run(["attention", "--model", model, "--layer", "0", "--head", "0", String(repeating: "word ", count: 600)])
        XCTAssertEqual(long.status, 0, long.stderr)
        XCTAssertEqual(long.stderr, "note: the text has 602 tokens; the first 512 (the model's context) are shown\n")
        XCTAssertEqual(try JSON.parse(long.stdout)["tokens"]?.array?.count, 512)
        let npy = try Ckpt.run(["attention", "--model", model, "--format", "npy", text])
        XCTAssertEqual(npy.status, 64)
    }

    func testAttentionFilesParseAndNpyHoldsTheSelection() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        for name in ["grid.svg", "grid.png", "one.npy"] {
            let selection = name == "one.npy" ? ["--layer", "1", "--head", "3"] : ["--layer", "all", "--head", "all"]
            let result = try Ckpt.run(["attention", "--model", model, "--output", directory + "/" + name] + selection + [text])
            XCTAssertEqual(result.status, 0, result.stderr)
        }
        let svg = try String(contentsOfFile: directory + "/grid.svg", encoding: .utf8)
        XCTAssertTrue(svg.hasPrefix("<?xml") && svg.contains("layer 5") && svg.contains("head 11"))
        let png = try Data(contentsOf: URL(fileURLWithPath: directory + "/grid.png"))
        XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        let npy = try Checkpoint(path: directory + "/one.npy")
        let attention = try reference("attentions_text"), T = attention.shape[2]
        XCTAssertEqual(npy.tensors[0].shape, [T, T])
        let map = Array(attention.values[((1 * 12 + 3) * T * T)..<((1 * 12 + 4) * T * T)])
        XCTAssertLessThan(maxDifference(try npy.tensor(named: npy.tensors[0].name).floats(), map), 1e-5)
    }

    /// The HTML view in headless Chromium (Debian's `chromium`, installed by `make test`): the page's
    /// script runs, takes layer 1 and head 2 from the address, draws T² heatmap cells and states the
    /// strongest link, which must be the JSON output's.
    func testHTMLViewShowsTheChosenLayerAndHeadInChromium() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        let page = directory + "/view.html"
        XCTAssertEqual(try Ckpt.run(["attention", "--model", model, "--output", page, text]).status, 0)
        let html = try String(contentsOfFile: page, encoding: .utf8)
        // Self-contained: nothing that loads a resource (the only URL is the SVG namespace).
        for loader in ["src=", "href=", "url(", "@import", "fetch(", "XMLHttpRequest", "WebSocket", "import("] {
            XCTAssertFalse(html.contains(loader), "the page uses \(loader)")
        }
        XCTAssertEqual(html.components(separatedBy: "http").count - 1, html.components(separatedBy: "http://www.w3.org/2000/svg").count - 1)

        let chromium = Process()
        chromium.executableURL = URL(fileURLWithPath: "/usr/bin/chromium")
        chromium.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", "file://\(page)#layer=1&head=2"]
        let out = Pipe()
        chromium.standardOutput = out
        chromium.standardError = FileHandle.nullDevice
        try chromium.run()
        let dom = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        chromium.waitUntilExit()
        XCTAssertEqual(chromium.terminationStatus, 0)

        let selected = try JSON.parse(try Ckpt.run(["attention", "--model", model, "--layer", "1", "--head", "2", text]).stdout)
        let tokens = selected["tokens"]!.array!.map { $0.string! }, T = tokens.count
        let map = numbers(selected["attention"])
        let best = map.indices.max { map[$0] < map[$1] || (map[$0] == map[$1] && $0 > $1) }!
        let expected = "Layer 1, head 2: strongest link \(tokens[best / T]) → \(tokens[best % T]) (\(String(format: "%.4f", map[best])))"
        XCTAssertTrue(dom.contains("<p id=\"status\">\(expected)</p>"), "the page shows: \(dom.components(separatedBy: "<p id=\"status\">").last?.prefix(120) ?? "")")
        XCTAssertEqual(dom.components(separatedBy: "class=\"cell\"").count - 1, T * T)
        XCTAssertGreaterThan(dom.components(separatedBy: "class=\"link\"").count - 1, 0)
    }

    func testSimilarityMatchesSentenceTransformersAndReportsTheCorrelations() throws {
        let result = try Ckpt.run(["similarity", "--model", model, "--no-cache", analysis + "/pairs.tsv"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let reference = try JSON.read(file: analysis + "/similarity.json")
        let ours = result.stdout.split(separator: "\n").map { Float($0)! }
        XCTAssertLessThan(maxDifference(ours, numbers(reference["cosine"])), 1e-5)
        let spearman = String(format: "%.4f", reference["spearman"]!.double!), pearson = String(format: "%.4f", reference["pearson"]!.double!)
        XCTAssertTrue(result.stderr.contains("spearman \(spearman) pearson \(pearson) over 100 pairs"), result.stderr)
        let plain = try Ckpt.run(["similarity", "--model", model, "--no-cache"], input: "a cat\ta kitten\nno tab here\n")
        XCTAssertEqual(plain.status, 1)
        XCTAssertEqual(plain.stderr, "error: <stdin>: line 2 has no tab; give 'first<TAB>second' pairs or a header with sentence1 and sentence2\n")
    }

    /// similarity and search encode texts with --model: their help offers the encoding options
    /// and none of the head commands' feature sources.
    func testSimilarityAndSearchOfferOnlyTheOptionsTheyUse() throws {
        for command in ["similarity", "search"] {
            let help = try Ckpt.run([command, "--help"]).stdout
            for option in ["--batch-size", "--no-cache", "--threads", "--precision", "--quiet"] {
                XCTAssertTrue(help.contains(option), "\(command) --help lacks \(option)")
            }
            for option in ["--features", "--labels", "--label-column"] {
                XCTAssertFalse(help.contains(option), "\(command) --help offers \(option)")
            }
        }
        XCTAssertTrue(try Ckpt.run(["search", "--help"]).stdout.contains("--text-column"))
        let refused = try Ckpt.run(["similarity", "--model", model, "--features", "x.npy"])
        XCTAssertEqual(refused.status, 64)
        XCTAssertTrue(refused.stderr.contains("Unknown option '--features'"), refused.stderr)
    }

    func testSearchFindsTheTopTenOfANumPyBruteForceSearch() throws {
        let reference = try JSON.read(file: analysis + "/search.json")
        let queries = reference["queries"]!.array!.map { $0.string! }
        let result = try Ckpt.run(["search", "--model", model, "--corpus", analysis + "/search_corpus.txt", "--no-cache", "--format", "jsonl"] + queries)
        XCTAssertEqual(result.status, 0, result.stderr)
        let hits = try result.stdout.split(separator: "\n").map { try JSON.parse(String($0)) }
        XCTAssertEqual(hits.count, queries.count * 10)
        let corpus = try String(contentsOfFile: analysis + "/search_corpus.txt", encoding: .utf8).split(separator: "\n").map(String.init)
        for (q, query) in queries.enumerated() {
            let expected = reference["indices"]!.array![q].array!.map { $0.int! }
            let scores = reference["scores"]!.array![q].array!.map { $0.double! }
            for rank in 0..<10 {
                let hit = hits[q * 10 + rank]
                XCTAssertEqual(hit["query"]?.string, query)
                XCTAssertEqual(hit["rank"]?.int, rank + 1)
                XCTAssertEqual(hit["score"]!.double!, scores[rank], accuracy: 1e-5)
                // Neighbours whose reference scores are within 1e-5 may trade places.
                let tied = (0..<10).filter { abs(scores[$0] - scores[rank]) < 1e-5 }.map { expected[$0] }
                XCTAssertTrue(tied.contains(hit["index"]!.int!), "query \(q) rank \(rank + 1): \(hit["index"]!.int!) not in \(tied)")
                XCTAssertEqual(hit["text"]?.string, corpus[hit["index"]!.int!])
            }
        }
    }

    func testProjectWritesCoordinatesPlotsAndProjectorFiles() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        let features = Ckpt.fixtures + "/minilm/embeddings.npy"
        let labels = directory + "/labels.txt"
        try (0..<240).map { $0 % 3 == 0 ? "even\tthird" : "other" }.joined(separator: "\n").write(toFile: labels, atomically: true, encoding: .utf8)
        let result = try Ckpt.run(["project", "--features", features, "--labels", labels, "--output", directory + "/map.svg", "--projector", directory + "/projector"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(try String(contentsOfFile: directory + "/map.svg", encoding: .utf8).contains("<circle"))
        let vectors = try String(contentsOfFile: directory + "/projector/vectors.tsv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(vectors.count, 240)
        XCTAssertEqual(vectors[0].split(separator: "\t").count, 384)
        // One metadata column: no header row, the tab inside a label made a space.
        let metadata = try String(contentsOfFile: directory + "/projector/metadata.tsv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(metadata.count, 240)
        XCTAssertEqual(metadata[0], "even third")
        let config = try JSON.read(file: directory + "/projector/projector_config.json")
        XCTAssertEqual(config["embeddings"]?.array?.first?["tensorShape"]?.array?.compactMap(\.int), [240, 384])

        let tsv = try Ckpt.run(["project", "--features", features])
        XCTAssertEqual(tsv.stdout.split(separator: "\n").count, 241)
        XCTAssertEqual(tsv.stdout.split(separator: "\n").first, "x\ty")
    }

    func testProjectBadInputsAreOneLineErrors() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        let labels = directory + "/labels.txt"
        try "a\nb\n".write(toFile: labels, atomically: true, encoding: .utf8)
        let features = Ckpt.fixtures + "/minilm/embeddings.npy"
        let mismatch = try Ckpt.run(["project", "--features", features, "--labels", labels, "--output", directory + "/out.npy"])
        XCTAssertEqual(mismatch.status, 1)
        XCTAssertTrue(mismatch.stderr.hasPrefix("error: \(labels): ") && mismatch.stderr.contains("240") && mismatch.stderr.contains("2"), mismatch.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/out.npy"))
        let few = try Ckpt.run(["project", "--features", features, "--method", "tsne", "--perplexity", "100", "--output", directory + "/out.npy"])
        XCTAssertEqual(few.status, 1)
        XCTAssertEqual(few.stderr, "error: \(features): t-SNE needs more than 3 × perplexity points: 240 points at perplexity 100; "
                       + "use a perplexity below 79.67, more points, or PCA (--perplexity, or --method pca)\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/out.npy"))
    }
}

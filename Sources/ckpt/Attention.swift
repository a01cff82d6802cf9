import Analysis
import ArgumentParser
import CkptSupport
import Foundation
import TensorFormats
import Tokenizers
import Transformers

struct Attention: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The attention of each layer and head for one text (or a pair), as JSON, .npy, a heatmap or an HTML view.",
        discussion: """
            json: {"tokens": [...], "layers": L, "heads": H, "attention": [layer][head][query][key]}, without the layer \
            level when --layer picks one and without the head level when --head picks one (or mean, max). --rollout adds \
            "rollout" [query][key] through the last layer shown (and, with --layer all, "rollout_by_layer"). npy: the \
            attention selection (with --rollout: the rollout) as float32. svg: heatmaps with the tokens on both axes; \
            png: the same as pixels; html: one self-contained page to pick a layer and head. The format comes from \
            --output's extension unless --format is given.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable { case json, npy, svg, png, html }

    @Option(help: "A model directory (config.json, weights, tokenizer files) or a .gguf file.")
    var model: String

    @Option(help: ArgumentHelp("A layer (0-based) or all.", valueName: "L|all"))
    var layer: String = "all"

    @Option(help: ArgumentHelp("A head (0-based), all, mean or max.", valueName: "H|all|mean|max"))
    var head: String = "all"

    @Flag(help: "Attention rollout (Abnar & Zuidema 2020) through the layers.")
    var rollout = false

    @Option(help: "json, npy, svg, png or html (default: from --output's extension, else json).")
    var format: Format?

    @Option(help: "Output file (default: stdout; needed for npy and png).")
    var output: String?

    @Flag(help: "Overwrite an existing output file.")
    var force = false

    @OptionGroup var parallel: ThreadOptions

    @OptionGroup var numeric: PrecisionOption

    @Flag(help: "No notes on stderr.")
    var quiet = false

    @Argument(help: "The text.")
    var text: String

    @Argument(help: "A second text (BERT: the pair's second segment).")
    var textB: String?

    private var layers: AttentionView.Layers? {
        layer == "all" ? .all : Int(layer).map { .one($0) }
    }

    private var heads: AttentionView.Heads? {
        switch head {
        case "all": .all
        case "mean": .mean
        case "max": .max
        default: Int(head).map { .one($0) }
        }
    }

    private var chosenFormat: Format {
        format ?? output.flatMap { Format(rawValue: fileExtension($0)) } ?? .json
    }

    func validate() throws {
        if layers == nil { throw ValidationError("--layer takes a layer number or all") }
        if heads == nil { throw ValidationError("--head takes a head number, all, mean or max") }
        if output == nil && [.npy, .png].contains(chosenFormat) { throw ValidationError("--format \(chosenFormat.rawValue) needs --output FILE") }
    }

    func run() throws {
        try reportingFailure {
            guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw AnalysisError.badInput("the text is empty; give a text to look at")
            }
            let modelSource = try ModelSource(path: model)
            let family = modelSource.family
            let encoder = try modelSource.loadEncoder(precision: numeric.requested())
            numeric.noteFallback(encoder.precision, quiet: quiet)
            let tokenizer = try modelSource.tokenizer()
            if family == .gpt2 && textB != nil { throw ValidationError("GPT-2 takes one text (a second one is for BERT pairs)") }
            let full = tokenizer.encode(text, pair: textB)
            let encoding = full.count > encoder.maxPositions ? tokenizer.encode(text, pair: textB, maxLength: encoder.maxPositions) : full
            if encoding.count < full.count && !quiet {
                printError("note: the text has \(full.count) tokens; the first \(encoding.count) (the model's context) are shown")
            }
            let T = encoding.count
            let maps = encoder.attention(ids: encoding.ids, typeIds: encoding.typeIds, mask: encoding.attentionMask, batch: 1, length: T, threads: parallel.threads)
            let view = AttentionView(maps)
            try attributing(to: model) { try view.validate(layers!, heads!) }
            let tokens = encoding.ids.map { tokenizer.token($0) ?? "<\($0)>" }
            try write(view, tokens: tokens)
        }
    }

    private func write(_ view: AttentionView, tokens: [String]) throws {
        let selection = view.selection(layers!, heads!)
        let lastLayer = selection.layerIndices.last!
        let rollouts = rollout ? view.rollout(through: lastLayer) : []
        let bytes: [UInt8]
        switch chosenFormat {
        case .json:
            var json = #"{"tokens":["# + tokens.map { JSON.string($0).compactText }.joined(separator: ",") + #"],"layers":\#(view.layers),"heads":\#(view.heads),"#
            json += #""attention":"# + nestedJSON(selection.flattened, shape: selection.shape) { "\($0)" }
            if rollout {
                let T = view.length
                json += #","rollout":"# + nestedJSON(rollouts.last!, shape: [T, T]) { "\($0)" }
                if layers == .all { json += #","rollout_by_layer":"# + nestedJSON(rollouts.flatMap { $0 }, shape: [rollouts.count, T, T]) { "\($0)" } }
            }
            bytes = Array((json + "}\n").utf8)
        case .npy:
            let T = view.length
            if rollout {
                try NPYWriter.write(rollouts.last!.map(Float.init), shape: [T, T], to: output!, overwrite: force)
            } else {
                try NPYWriter.write(selection.flattened, shape: selection.shape, to: output!, overwrite: force)
            }
            return
        case .svg, .png:
            let heatmap = rollout
                ? Heatmap(tokens: tokens, rowTitles: ["rollout"], columnTitles: ["through layer \(lastLayer)"], maps: [[rollouts.last!.map(Float.init)]])
                : Heatmap(tokens: tokens, rowTitles: selection.layerIndices.map { "layer \($0)" }, columnTitles: selection.headLabels, maps: selection.maps)
            bytes = chosenFormat == .svg ? Array(heatmap.svg.utf8) : heatmap.png.encoded
        case .html:
            let title = "Attention: " + (textB.map { "\(text) | \($0)" } ?? text)
            bytes = Array(AttentionPage(view: view, tokens: tokens, title: title).html.utf8)
        }
        try writeOutput(bytes, to: output, overwrite: force)
    }
}

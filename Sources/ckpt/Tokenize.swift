import CkptSupport
import ArgumentParser
import Foundation
import TensorFormats
import Tokenizers
import Transformers

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Tokenize text exactly as the reference tokenizer does (or decode ids with --decode).",
        discussion: """
            Without TEXT, reads one text per line from stdin (with --pair: "first<TAB>second" per line). \
            Special tokens are added as the tokenizer's post-processor says (BERT: [CLS] … [SEP]; GPT-2: none). \
            Never pads; truncates only with --max-length. Invalid UTF-8 is replaced by U+FFFD with a count \
            on stderr, or refused with --strict.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable { case ids, tokens, json }

    @Option(help: "A model directory (tokenizer.json, vocab.txt, vocab.json + merges.txt or *.tiktoken) or a .gguf file.")
    var model: String?

    @Option(help: "A tokenizer file: tokenizer.json, vocab.txt, vocab.json (merges.txt beside it) or *.tiktoken.")
    var tokenizer: String?

    @Flag(help: "Encode pairs: TEXT arguments two by two, or 'first<TAB>second' lines.")
    var pair = false

    @Option(help: "ids (space-separated), tokens, or json (ids, type_ids, tokens, offsets, attention_mask).")
    var format: Format = .ids

    @Flag(help: "Do not add the post-processor's special tokens.")
    var noSpecialTokens = false

    @Option(help: "Truncate to at most N tokens (special tokens included), longest first for pairs.")
    var maxLength: Int?

    @Flag(help: "Decode: read lines of space-separated ids, print text.")
    var decode = false

    @Flag(help: "Refuse invalid UTF-8 input instead of replacing it.")
    var strict = false

    @OptionGroup var parallel: ThreadOptions

    @Argument(help: "Texts to tokenize (default: lines from stdin).")
    var texts: [String] = []

    func validate() throws {
        if (model == nil) == (tokenizer == nil) { throw ValidationError("give one of --model DIR or --tokenizer FILE") }
        if let maxLength, maxLength < 1 { throw ValidationError("--max-length must be at least 1") }
        if pair && !texts.isEmpty && texts.count % 2 != 0 { throw ValidationError("--pair needs TEXT arguments two by two") }
    }

    func run() throws {
        try reportingFailure {
            let loaded = try model.map { try ModelSource.tokenizer(path: $0) } ?? Tokenizer(file: tokenizer!)
            let input = texts.isEmpty ? InputLines.standardInput() : InputLines(lines: texts)
            if !input.invalidLines.isEmpty {
                if strict { throw FormatError(file: "<stdin>", TokenizerError.invalidUTF8(line: input.invalidLines[0])) }
                printError("warning: \(input.invalidLines.count) input line(s) held invalid UTF-8, replaced by U+FFFD (first: line \(input.invalidLines[0]))")
            }
            var out = OutputBuffer()
            if decode {
                try decodeLines(input.lines, loaded, &out)
            } else {
                try encodeLines(input.lines, loaded, &out)
            }
            out.flush()
        }
    }

    private func encodeLines(_ lines: [String], _ tokenizer: Tokenizer, _ out: inout OutputBuffer) throws {
        var firsts = lines, seconds: [String]? = nil
        if pair {
            if texts.isEmpty {
                let split = lines.map { line -> (String, String) in
                    guard let tab = line.utf8.firstIndex(of: 0x09) else { return (line, "") }
                    return (String(line[..<tab]), String(line[line.utf8.index(after: tab)...]))
                }
                firsts = split.map(\.0)
                seconds = split.map(\.1)
            } else {
                firsts = stride(from: 0, to: lines.count, by: 2).map { lines[$0] }
                seconds = stride(from: 1, to: lines.count, by: 2).map { lines[$0] }
            }
        }
        let chunk = 16_384
        for start in stride(from: 0, to: firsts.count, by: chunk) {
            let range = start..<min(firsts.count, start + chunk)
            if format == .ids && seconds == nil && maxLength == nil {
                // Ids alone need no offsets or masks: the tokenizer's ids-only route.
                for ids in tokenizer.encodeIDsBatch(Array(firsts[range]), addSpecialTokens: !noSpecialTokens, threads: parallel.threads) {
                    out.line(ids.map(String.init).joined(separator: " "))
                }
                continue
            }
            let encodings = tokenizer.encodeBatch(Array(firsts[range]), pairs: seconds.map { Array($0[range]) },
                                                  addSpecialTokens: !noSpecialTokens, maxLength: maxLength, threads: parallel.threads)
            for encoding in encodings { out.line(render(encoding, tokenizer)) }
        }
    }

    private func render(_ encoding: Encoding, _ tokenizer: Tokenizer) -> String {
        switch format {
        case .ids:
            return encoding.ids.map(String.init).joined(separator: " ")
        case .tokens:
            return encoding.ids.map { tokenizer.token($0) ?? "<\($0)>" }.joined(separator: " ")
        case .json:
            func numbers(_ values: [Int32]) -> JSON { .array(values.map { .number(String($0)) }) }
            return JSON.object([
                ("ids", numbers(encoding.ids)),
                ("type_ids", numbers(encoding.typeIds)),
                ("tokens", .array(encoding.ids.map { .string(tokenizer.token($0) ?? "") })),
                ("offsets", .array(encoding.offsets.map { .array([.number(String($0.lowerBound)), .number(String($0.upperBound))]) })),
                ("attention_mask", numbers(encoding.attentionMask)),
            ]).compactText
        }
    }

    private func decodeLines(_ lines: [String], _ tokenizer: Tokenizer, _ out: inout OutputBuffer) throws {
        for (number, line) in lines.enumerated() {
            var ids: [Int32] = []
            for field in line.split(separator: " ", omittingEmptySubsequences: true) {
                guard let id = Int32(field), id >= 0, Int(id) < tokenizer.vocabularySize else {
                    throw ValidationError("line \(number + 1): '\(field)' is not a token id of this tokenizer (0..<\(tokenizer.vocabularySize))")
                }
                ids.append(id)
            }
            out.line(tokenizer.decode(ids, skipSpecialTokens: !noSpecialTokens))
        }
    }
}

import CkptSupport
import ArgumentParser
import TensorFormats
import Kernels
import Transformers

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List a checkpoint's tensors (name, dtype, shape, bytes), totals and metadata.",
        discussion: "Reads only headers: inspecting a large file takes milliseconds."
    )

    @Argument(help: "A .safetensors, .npz, .gguf, PyTorch .bin/.pt/.pth or shard index (*.index.json) file, or a model directory.")
    var path: String

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func run() throws {
        try reportingFailure {
            let checkpoint = try Checkpoint(path: path)
            print(json ? jsonReport(checkpoint) : tableReport(checkpoint))
        }
    }

    private func totals(_ tensors: [TensorInfo]) -> (parameters: Int, bytes: Int) {
        tensors.reduce((0, 0)) { ($0.0 + $1.elementCount, $0.1 + $1.byteCount) }
    }

    private func tableReport(_ checkpoint: Checkpoint) -> String {
        let header = ["name", "dtype", "shape", "bytes"]
        let rows = checkpoint.tensors.map { [printable($0.name), $0.dtype.rawValue, shapeText($0.shape), String($0.byteCount)] }
        let widths = (0..<4).map { column in ([header] + rows).map { $0[column].count }.max()! }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { column, cell in
                let pad = String(repeating: " ", count: widths[column] - cell.count)
                return column == 3 ? pad + cell : cell + pad
            }.joined(separator: "  ")
        }
        let (parameters, bytes) = totals(checkpoint.tensors)
        var lines = [line(header)] + rows.map(line)
        lines.append("")
        lines.append("format: \(checkpoint.formatName)")
        lines.append("total: \(checkpoint.tensors.count) tensors, \(parameters) parameters, \(bytes) bytes (\(humanBytes(bytes)))")
        for (key, value) in checkpoint.metadata { lines.append("metadata: \(printable(key)) = \(printable(value))") }
        if path.hasSuffix(".gguf"), let gguf = try? GGUFFile(path: path) {
            let counts = Dictionary(grouping: gguf.storedTypes.values, by: \.name).map { "\($0.key) × \($0.value.count)" }.sorted()
            lines.append("gguf: version \(gguf.version), alignment \(gguf.alignment); stored types: \(counts.joined(separator: ", ")) (Q8_0 listed as its dequantized F32)")
        }
        let quantized = Int8Scheme.quantizedCount(checkpoint.tensors)
        if quantized > 0 { lines.append("quantization: int8, \(quantized) weights with per-output-channel scales (models run them in int8 unless --precision says otherwise)") }
        if let precision = modelPrecision(checkpoint) { lines.append("precision: the model runs in \(precision.rawValue) unless --precision says otherwise (as its checkpoint is stored)") }
        return lines.joined(separator: "\n")
    }

    private func jsonReport(_ checkpoint: Checkpoint) -> String {
        let (parameters, bytes) = totals(checkpoint.tensors)
        let tensors = checkpoint.tensors.map { info -> JSON in
            .object([
                ("name", .string(info.name)),
                ("dtype", .string(info.dtype.rawValue)),
                ("shape", .array(info.shape.map { .number(String($0)) })),
                ("bytes", .number(String(info.byteCount))),
            ])
        }
        return JSON.object([
            ("path", .string(checkpoint.path)),
            ("format", .string(checkpoint.formatName)),
            ("tensors", .array(tensors)),
            ("total", .object([
                ("tensors", .number(String(checkpoint.tensors.count))),
                ("parameters", .number(String(parameters))),
                ("bytes", .number(String(bytes))),
            ])),
            ("metadata", .object(checkpoint.metadata.map { ($0.0, .string($0.1)) })),
            ("int8_weights", .number(String(Int8Scheme.quantizedCount(checkpoint.tensors)))),
        ] + (modelPrecision(checkpoint).map { [("precision", .string($0.rawValue))] } ?? [])).compactText
    }

    /// The precision a model at `path` (a model directory or GGUF model file) runs in when not told
    /// one, from its opened `checkpoint` (`ModelSource.storedPrecision(of:)`); nil for weights alone.
    private func modelPrecision(_ checkpoint: Checkpoint) -> Precision? { (try? ModelSource(path: path))?.storedPrecision(of: checkpoint) }

    /// A tensor name or metadata text with control characters escaped, so that each stays on its row
    /// and a file cannot send escape sequences to the terminal.
    private func printable(_ name: String) -> String {
        String(name.unicodeScalars.map { scalar in
            scalar.value < 0x20 || scalar.value == 0x7F ? "\\u{\(String(scalar.value, radix: 16))}" : String(scalar)
        }.joined())
    }

    private func shapeText(_ shape: [Int]) -> String {
        "[" + shape.map(String.init).joined(separator: ", ") + "]"
    }
}

import TensorFormats
import Tokenizers

/// Sentence features from a BERT or GPT-2 model directory, as sentence-transformers computes them: tokenize
/// (truncated to the model's `max_seq_length`), encode in length-sorted batches padded only to
/// each batch's longest, pool, optionally L2-normalise. Results are in input order and do not
/// depend on the batch size or on which texts share a batch (padding is masked out).
public final class FeatureExtractor: @unchecked Sendable {
    public let model: any TokenEncoder
    public let tokenizer: Tokenizer
    public let settings: PoolingSettings

    /// Loads model, tokenizer and pooling settings from `directory`; `settings` overrides the
    /// directory's own.
    public init(directory: String, settings: PoolingSettings? = nil) throws {
        let family = try ModelFamily(directory: directory)
        model = try family.load(directory)
        tokenizer = try Tokenizer(directory: directory)
        self.settings = try settings ?? PoolingSettings(directory: directory, defaultMode: family.defaultPooling)
    }

    /// Length of one feature vector.
    public var dimension: Int { model.hiddenSize * settings.modes.count }

    /// Most tokens a text keeps (special tokens included).
    public var maxLength: Int { min(settings.maxLength ?? model.maxPositions, model.maxPositions) }

    /// Features of `texts`, [texts.count × dimension] row-major, and how many texts were truncated.
    public func features(_ texts: [String], batchSize: Int = 32, threads: Int = 1,
                         progress: ((Int) -> Void)? = nil) -> (values: [Float], truncated: Int) {
        let result = run(texts, batchSize: batchSize, threads: threads, progress: progress)
        return (result.values, result.truncated)
    }

    /// `features`, also counting the matrix-product FLOPs of the padded batches (for benchmarks).
    public func run(_ texts: [String], batchSize: Int, threads: Int,
                    progress: ((Int) -> Void)? = nil) -> (values: [Float], truncated: Int, flops: Double) {
        var flops = 0.0
        let limit = maxLength
        var inputs = tokenizer.encodeBatch(texts, threads: threads)
        let truncated = inputs.filter { $0.count > limit }.count
        // Re-encode only the over-long texts, truncated as the model's tokenizer truncates them.
        for i in inputs.indices where inputs[i].count > limit { inputs[i] = tokenizer.encode(texts[i], maxLength: limit) }
        let order = inputs.indices.sorted { inputs[$0].count < inputs[$1].count }
        let D = dimension, C = model.hiddenSize
        var out = [Float](repeating: 0, count: texts.count * D)
        var done = 0
        for start in stride(from: 0, to: order.count, by: max(1, batchSize)) {
            let batch = Array(order[start..<min(order.count, start + max(1, batchSize))])
            let T = batch.map { inputs[$0].count }.max() ?? 0
            let B = batch.count
            var ids = [Int32](repeating: 0, count: B * T), types = ids, mask = ids
            for (b, index) in batch.enumerated() {
                let e = inputs[index]
                for t in 0..<e.count {
                    ids[b * T + t] = e.ids[t]
                    types[b * T + t] = e.typeIds[t]
                    mask[b * T + t] = 1
                }
            }
            // A batch of texts without tokens (GPT-2 adds none to an empty text) has nothing to run: zeros.
            let hidden = T == 0 ? [] : model.hiddenStates(ids: ids, typeIds: types, mask: mask, batch: B, length: T, threads: threads)
            flops += model.forwardFLOPs(batch: B, length: T)
            let pooled = settings.modes.map { $0.pool(hidden, mask: mask, batch: B, length: T, channels: C) }
            for (b, index) in batch.enumerated() {
                var row = pooled.flatMap { $0[(b * C)..<((b + 1) * C)] }
                if settings.normalize {
                    // x / max(‖x‖₂, 1e-12), as torch.nn.functional.normalize.
                    let norm = max(row.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
                    row = row.map { $0 / norm }
                }
                out.replaceSubrange((index * D)..<((index + 1) * D), with: row)
            }
            done += B
            progress?(done)
        }
        return (out, truncated, flops)
    }
}

import CkptSupport
import Kernels
import Synchronization
import TensorFormats
import Tokenizers

/// Sentence features from a BERT or GPT-2 model directory, as sentence-transformers computes them: tokenize
/// (truncated to the model's `max_seq_length`), encode in length-sorted batches padded only to
/// each batch's longest, pool, optionally L2-normalise. Results are in input order and do not
/// depend on the batch size or on which texts share a batch (padding is masked out).
public final class FeatureExtractor: @unchecked Sendable {
    /// The revision of the arithmetic that makes features (which kernels sum in which order),
    /// raised with every change to ckpt that moves a feature's bits on some CPU: features kept on
    /// disk (`FeatureCache`) carry it, so that those made by another ckpt are not mixed with new ones.
    /// 2: attention over up to 64 tokens on ckpt's own kernels. 3: GELU's erf as a rational
    /// function, e^x's rounding to the nearest k by adding 1.5·2^23.
    public static let arithmeticRevision = 3

    public let model: any TokenEncoder
    public let tokenizer: Tokenizer
    public let settings: PoolingSettings

    /// Loads model, tokenizer and pooling settings from a model directory or GGUF file; `settings`
    /// overrides the model's own. The model's products run in `precision` (nil: as its checkpoint is stored).
    public convenience init(path: String, settings: PoolingSettings? = nil, precision: Precision? = nil) throws {
        try self.init(source: ModelSource(path: path), settings: settings, precision: precision)
    }

    public init(source: ModelSource, settings: PoolingSettings? = nil, precision: Precision? = nil) throws {
        model = try source.loadEncoder(precision: precision)
        tokenizer = try source.tokenizer()
        self.settings = try settings ?? source.poolingSettings()
    }

    /// Length of one feature vector.
    public var dimension: Int { model.hiddenSize * settings.modes.count }

    /// Most tokens a text keeps (special tokens included).
    public var maxLength: Int { min(settings.maxLength ?? model.maxPositions, model.maxPositions) }

    /// Features of `texts`, [texts.count × dimension] row-major, and how many texts were truncated;
    /// encoded in batches of at most `batchSize` texts and `batchTokens(_:)` padded tokens.
    public func features(_ texts: [String], batchSize: Int = 32, threads: Int = 1,
                         progress: (@Sendable (Int) -> Void)? = nil) -> (values: [Float], truncated: Int) {
        let result = run(texts, batchSize: batchSize, threads: threads, progress: progress)
        return (result.values, result.truncated)
    }

    /// `features` of `texts` a window of at most `window` texts at a time: `body` gets, in input
    /// order, each window's first index in `texts` and its features ([count × dimension]
    /// row-major, the bits `features` gives them), so that a long input's features are never all
    /// in memory at once. `progress` counts the texts done over all windows. Returns how many
    /// texts were truncated.
    public func forEachWindow(of texts: [String], window: Int, batchSize: Int = 32, threads: Int = 1,
                              progress: (@Sendable (Int) -> Void)? = nil,
                              _ body: (_ first: Int, _ features: [Float]) throws -> Void) rethrows -> Int {
        precondition(window > 0, "forEachWindow: a window holds at least one text")
        var truncated = 0
        for first in stride(from: 0, to: texts.count, by: window) {
            let part = Array(texts[first..<min(texts.count, first + window)])
            var counted: (@Sendable (Int) -> Void)?
            if let progress { counted = { done in progress(first + done) } }
            let result = run(part, batchSize: batchSize, threads: threads, progress: counted)
            truncated += result.truncated
            try body(first, result.values)
        }
        return truncated
    }

    /// `features`, also counting the matrix-product FLOPs of the padded batches (for the bench commands).
    package func run(_ texts: [String], batchSize: Int, threads: Int,
                     progress: (@Sendable (Int) -> Void)? = nil) -> (values: [Float], truncated: Int, flops: Double) {
        let (inputs, truncated) = encodings(texts, threads: threads)
        let (values, flops) = run(encoded: inputs, batchSize: batchSize, threads: threads, normalize: nil, progress: progress)
        return (values, truncated, flops)
    }

    /// The model's inputs for `texts`: tokenized, and cut to `maxLength` as the model's tokenizer
    /// truncates; with how many texts were cut.
    public func encodings(_ texts: [String], threads: Int) -> (encodings: [Encoding], truncated: Int) {
        let limit = maxLength
        var inputs = tokenizer.encodeBatch(texts, threads: threads)
        let truncated = inputs.filter { $0.count > limit }.count
        // Re-encode only the over-long texts, truncated as the model's tokenizer truncates them.
        for i in inputs.indices where inputs[i].count > limit { inputs[i] = tokenizer.encode(texts[i], maxLength: limit) }
        return (inputs, truncated)
    }

    /// Features of tokenized inputs (each at most `maxLength` tokens), [inputs.count × dimension]
    /// row-major: the same bits as `features` of their texts. `normalize` overrides the settings' L2
    /// normalisation.
    public func features(encoded inputs: [Encoding], batchSize: Int = 32, threads: Int = 1, normalize: Bool? = nil) -> [Float] {
        precondition(inputs.allSatisfy { $0.count <= maxLength }, "FeatureExtractor: an input longer than maxLength")
        return run(encoded: inputs, batchSize: batchSize, threads: threads, normalize: normalize, progress: nil).values
    }

    private func run(encoded inputs: [Encoding], batchSize: Int, threads: Int, normalize: Bool?,
                     progress: (@Sendable (Int) -> Void)?) -> (values: [Float], flops: Double) {
        // Longest batches first, so that the last ones a thread picks up are the quickest.
        let order = inputs.indices.sorted { inputs[$0].count > inputs[$1].count }
        let batches = Self.batches(order, lengths: inputs.map(\.count), texts: batchSize, tokens: Self.batchTokens(model.precision))
        // Several batches run side by side, one thread each: splitting one batch's products over
        // threads makes them wait for each other at every product of every layer. Either way a
        // text's features are the same bits (see `LinearWeight`).
        let workers = max(1, min(threads, batches.count))
        let normalize = normalize ?? settings.normalize
        let tally = Mutex((done: 0, flops: 0.0))
        var out = [Float](repeating: 0, count: inputs.count * dimension)
        out.withUnsafeMutableBufferPointer { buffer in
            // Each text's row is written by the one thread that encodes its batch.
            let rows = UncheckedSendable(buffer.baseAddress!)
            Parallel.forEachIndex(batches.count, threads: workers) { b in
                let flops = self.encode(batches[b].map { inputs[$0] }, threads: workers == 1 ? threads : 1, normalize: normalize) { position, row in
                    (rows.value + batches[b][position] * row.count).update(from: row.baseAddress!, count: row.count)
                }
                tally.withLock {
                    $0.done += batches[b].count
                    $0.flops += flops
                    progress?($0.done)
                }
            }
        }
        return (out, tally.withLock { $0.flops })
    }

    /// Most padded tokens (rows of every product) in a batch of several texts. A layer's
    /// activations for that many rows stay in a core's cache from one product to the next, where a
    /// batch of 32 texts of 128 tokens streams each element-wise pass (GELU, softmax, layer norm,
    /// the conversions for bf16 and int8 products) through memory. int8 takes half as many: its
    /// products run at twice bf16's rate, so the passes between them (quantizing a product's rows,
    /// dequantizing its sums, GELU) take a larger share, and they read and write a 128-row
    /// block's feed-forward activations (768 KiB of f32) within a core's L2; f32 and bf16, whose products
    /// lose more to the smaller row count than the passes gain, keep 256.
    public static func batchTokens(_ precision: Precision) -> Int { precision == .int8 ? 128 : 256 }

    /// `order` (indices of texts, longest first) cut into batches of at most `texts` texts and at
    /// most `tokens` padded tokens, save a batch of one text.
    static func batches(_ order: [Int], lengths: [Int], texts: Int, tokens: Int) -> [[Int]] {
        var batches: [[Int]] = [], start = 0
        while start < order.count {
            // The batch's first text is its longest: every text is padded to it.
            let count = min(max(1, texts), max(1, tokens / max(1, lengths[order[start]])), order.count - start)
            batches.append(Array(order[start..<(start + count)]))
            start += count
        }
        return batches
    }

    /// Encodes one batch, padded to its longest, and hands each text's pooled (and normalised)
    /// features to `write` with its position in the batch; returns the batch's matrix-product FLOPs.
    private func encode(_ batch: [Encoding], threads: Int, normalize: Bool, write: (Int, UnsafeBufferPointer<Float>) -> Void) -> Double {
        var padded = batch
        Padding(length: .longest, padID: 0).apply(&padded)
        let T = padded.first?.count ?? 0, B = padded.count, C = model.hiddenSize
        let ids = padded.flatMap(\.ids), types = padded.flatMap(\.typeIds), mask = padded.flatMap(\.attentionMask)
        // A batch of texts without tokens (GPT-2 adds none to an empty text) has nothing to run: zeros.
        let hidden = T == 0 ? [] : model.hiddenStates(ids: ids, typeIds: types, mask: mask, batch: B, length: T, threads: threads)
        let pooled = settings.modes.map { $0.pool(hidden, mask: mask, batch: B, length: T, channels: C) }
        var row = [Float](repeating: 0, count: dimension)
        for b in 0..<B {
            for (m, features) in pooled.enumerated() {
                for c in 0..<C { row[m * C + c] = features[b * C + c] }
            }
            if normalize { row.withUnsafeMutableBufferPointer { PoolingSettings.normalize($0) } }
            row.withUnsafeBufferPointer { write(b, $0) }
        }
        return model.forwardFLOPs(batch: B, length: T)
    }
}

import CkptSupport
import Kernels
import TensorFormats

/// A BERT encoder on the CPU, reading as the math. Dimension letters:
/// `B` batch, `T` tokens (the batch's padded length), `C` channels (hidden size), `H` heads,
/// `D` = C / H per head, `I` intermediate (feed-forward) size, `V` vocabulary.
///
/// Matches transformers' BertModel within 1e-4 (max absolute difference of hidden states; tested on
/// tiny random checkpoints in every layout).
public final class BERT: @unchecked Sendable {
    public let config: BERTConfig
    let weights: BERTWeights
    private let workspaces = WorkspacePool()

    /// The precision of the products with weights.
    public let precision: Precision

    /// Whether the output heads were loaded.
    public let heads: OutputHeads

    /// The precision of attention's score and context products over more than 64 keys (see
    /// `AttentionHead.precision(forWeights:)`); over fewer they run in f32.
    public var attentionPrecision: Precision { AttentionHead.precision(forWeights: precision) }

    /// Loads the configuration and weights of a model directory (weights in any supported format)
    /// or a GGUF file, packed for products in `precision` (nil: as its checkpoint is stored), with
    /// or without its output `heads`.
    public convenience init(path: String, precision: Precision? = nil, heads: OutputHeads = .loaded) throws {
        try self.init(source: ModelSource(path: path), precision: precision, heads: heads)
    }

    /// Loads `source`'s model, packed for products in `precision` (nil: as its checkpoint is stored,
    /// `ModelSource.storedPrecision()`), with or without its output `heads`.
    public convenience init(source: ModelSource, precision: Precision? = nil, heads: OutputHeads = .loaded) throws {
        let checkpoint = try source.checkpoint()
        try self.init(config: BERTConfig(json: source.config.json, path: source.config.path), checkpoint: checkpoint,
                      precision: precision ?? source.storedPrecision(of: checkpoint), heads: heads)
    }

    public init(config: BERTConfig, checkpoint: Checkpoint, precision: Precision = .f32, heads: OutputHeads = .loaded) throws {
        self.config = config
        self.precision = precision
        self.heads = heads
        weights = try BERTWeights(checkpoint, config: config, precision: precision, heads: heads)
    }

    /// Checkpoint tensors the model did not use (shown by `--verbose`).
    public var unusedTensors: [String] { weights.unused }
    public var hasPooler: Bool { weights.pooler != nil }
    /// Whether the model has a masked-LM head: the checkpoint holds one and the heads were loaded.
    public var hasMaskedLMHead: Bool { weights.maskedLM != nil }

    /// Last hidden states, [B, T, C] row-major, for a right-padded batch: `ids`, `typeIds` and
    /// `mask` are [B, T]; `mask` is 1 for each sequence's real tokens, then 0 for its padding (which
    /// never changes real tokens' outputs: attention runs over each sequence's own tokens). Runs on
    /// `threads` threads; a sequence's hidden states are the same bits at any thread count and
    /// whatever batch it is in (products are row-invariant, see `LinearWeight`).
    public func hiddenStates(ids: [Int32], typeIds: [Int32], mask: [Int32], batch B: Int, length T: Int, threads: Int = 1) -> [Float] {
        forward(ids: ids, typeIds: typeIds, mask: mask, batch: B, length: T, threads: threads, recorder: nil)
    }

    /// The attention probabilities of every layer and head for the batch of `hiddenStates`: padding
    /// queries attend over the real keys as in transformers; padding keys have weight 0.
    public func attention(ids: [Int32], typeIds: [Int32], mask: [Int32], batch B: Int, length T: Int, threads: Int = 1) -> AttentionMaps {
        let recorder = AttentionRecorder(layers: config.layers, batch: B, heads: config.heads, length: T)
        _ = forward(ids: ids, typeIds: typeIds, mask: mask, batch: B, length: T, threads: threads, recorder: recorder)
        return recorder.maps
    }

    private func forward(ids: [Int32], typeIds: [Int32], mask: [Int32], batch B: Int, length T: Int, threads: Int,
                         recorder: AttentionRecorder?) -> [Float] {
        precondition(ids.count == B * T && typeIds.count == B * T && mask.count == B * T, "hiddenStates: inputs must be [B, T]")
        precondition(T <= config.maxPositions, "hiddenStates: \(T) tokens exceed the \(config.maxPositions) positions")
        let lengths = sequenceLengths(mask: mask, batch: B, length: T)
        let C = config.hiddenSize, I = config.intermediateSize, N = B * T
        // x, attended: [B, T, C]. Attention uses one region as qkv [B, T, 3C] (q, k, v side by side)
        // and context [B, T, C]; the feed-forward, which runs after it, as inner [B, T, I].
        return workspaces.withBuffers([N * C, N * C, N * max(4 * C, I)]) { buffers in
            let (x, attended, region) = (buffers[0], buffers[1], buffers[2].p)
            let (qkv, context, inner) = (region, region + N * 3 * C, region)
            embed(ids, typeIds, B: B, T: T, threads: threads, into: x)
            for (index, layer) in weights.layers.enumerated() {
                selfAttention(layer, x, lengths: lengths, B: B, T: T, threads: threads, qkv: qkv, context: context, into: attended,
                              recording: recorder.map { ($0, index) })
                feedForward(layer, attended, N: N, threads: threads, inner: inner, into: x)
            }
            return Array(UnsafeBufferPointer(start: x.p, count: N * C))
        }
    }

    /// Embeddings: word + position + token type, then layer norm. x: [B, T, C]. Each thread takes
    /// a part of the rows: a token table read from its file costs a system call per row.
    private func embed(_ ids: [Int32], _ typeIds: [Int32], B: Int, T: Int, threads: Int, into x: FloatBuffer) {
        let C = config.hiddenSize, w = weights, epsilon = config.layerNormEpsilon
        Parallel.forEachPart(of: 0..<(B * T), threads: threads) { part in
            w.wordEmbeddings.copyRows(ids[part], width: C, into: x.p + part.lowerBound * C)
            for n in part {
                let row = x.p + n * C, position = w.positionEmbeddings.p + n % T * C, type = w.typeEmbeddings.p + Int(typeIds[n]) * C
                for c in 0..<C { row[c] = row[c] + position[c] + type[c] }
            }
            RowKernels.layerNorm(x.p + part.lowerBound * C, into: x.p + part.lowerBound * C, rows: part.count, n: C,
                                 gamma: w.embeddingNormWeight.p, beta: w.embeddingNormBias.p, epsilon: epsilon)
        }
    }

    /// Multi-head self-attention, output projection, residual and layer norm: out = LN(x + attention(x)).
    /// qkv: [B, T, 3C] (head h of q at channels h·D ..< (h+1)·D, k at C + …, v at 2C + …);
    /// scores per (b, h): [T, L] over the sequence's L real keys; context: [B, T, C]. x is
    /// overwritten (see `projectAddNorm`).
    private func selfAttention(_ l: BERTWeights.Layer, _ x: FloatBuffer, lengths: [Int], B: Int, T: Int, threads: Int,
                               qkv: UnsafeMutablePointer<Float>, context: UnsafeMutablePointer<Float>, into out: FloatBuffer,
                               recording: (recorder: AttentionRecorder, layer: Int)? = nil) {
        let C = config.hiddenSize, H = config.heads, D = config.headSize, N = B * T
        l.queryKeyValue.apply(x.p, rows: N, bias: l.queryKeyValueBias.p, into: qkv, threads: threads)
        let scale = 1 / Float(D).squareRoot()
        // Score rows padded to whole vectors (the softmax masks what lies past the L keys).
        let stride = AttentionHead.wholeVectors(T)
        // Sequences are spread over the threads, each with one score buffer for all its sequences.
        // A sequence's queries give results that do not depend on the batch: up to
        // `AttentionHead.maxKeys` keys, and above it where attention runs in bf16, all its queries,
        // real and padding (which transformers computes too), run in one call of kernels whose
        // rows are independent; else its L real queries run as a GEMM of their own shape, whatever
        // the batch's padded length, and its padding queries as one of theirs.
        let longInBF16 = attentionPrecision == .bf16, shared = UncheckedSendable((qkv: qkv, context: context))
        Parallel.forEachPart(of: 0..<B, threads: threads) { sequences in
            let (qkv, context) = shared.value
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: T * stride)
            let transposedKeys = UnsafeMutablePointer<Float>.allocate(capacity: D * stride)
            let pairs = UnsafeMutablePointer<UInt32>.allocate(capacity: longInBF16 ? AttentionHead.bf16Scratch(rows: T, keys: T, d: D) : 0)
            defer {
                scores.deallocate()
                transposedKeys.deallocate()
                pairs.deallocate()
            }
            for b in sequences {
                let L = lengths[b], inBF16 = longInBF16 && L > AttentionHead.maxKeys, ownKernels = inBF16 || L <= AttentionHead.maxKeys
                for h in 0..<H {
                    let k = qkv + b * T * 3 * C + C + h * D
                    for queries in ownKernels ? [0..<T] : [0..<L, L..<T] where !queries.isEmpty {
                        let q = qkv + (b * T + queries.lowerBound) * 3 * C + h * D, rows = queries.count
                        let out = context + (b * T + queries.lowerBound) * C + h * D
                        // scores = q·kᵀ / √D over the L real keys: [rows, D]·[L, D]ᵀ
                        if inBF16 {
                            AttentionHead.scoresInBF16(q, ldq: 3 * C, k, ldk: 3 * C, rows: rows, keys: L, d: D, scale: scale, into: scores, stride: stride,
                                                       scratch: pairs)
                        } else if ownKernels {
                            AttentionHead.scores(q, ldq: 3 * C, k, ldk: 3 * C, rows: rows, keys: L, d: D, scale: scale, into: scores, stride: stride,
                                                 transposedKeys: transposedKeys)
                        } else {
                            MatmulEngine.current.gemm(q, lda: 3 * C, k, ldb: 3 * C, transposeB: true, into: scores, ldc: stride, m: rows, n: L, k: D,
                                                      alpha: scale)
                        }
                        RowKernels.softmaxRows(scores, rows: rows, n: L, stride: stride)
                        if let recording {
                            recording.recorder.record(layer: recording.layer, sequence: b, head: h, firstQuery: queries.lowerBound, rows: rows,
                                                      keys: L, scores: scores, stride: stride)
                        }
                        // context = softmax · v: [rows, L]·[L, D]
                        if inBF16 {
                            AttentionHead.contextInBF16(scores, ldp: stride, k + C, ldv: 3 * C, rows: rows, keys: L, d: D, into: out, ldo: C, scratch: pairs)
                        } else if ownKernels {
                            AttentionHead.context(scores, ldp: stride, k + C, ldv: 3 * C, rows: rows, keys: L, d: D, into: out, ldo: C)
                        } else {
                            MatmulEngine.current.gemm(scores, lda: stride, k + C, ldb: 3 * C, transposeB: false, into: out, ldc: C, m: rows, n: D, k: L)
                        }
                    }
                }
            }
        }
        projectAddNorm(context, inputs: C, weight: l.attentionOutput, bias: l.attentionOutputBias, norm: (l.attentionNormWeight, l.attentionNormBias),
                       residual: x, N: N, threads: threads, into: out)
    }

    /// Feed-forward: out = LN(x + W₂·activation(W₁·x + b₁) + b₂). x: [N, C] (overwritten, as in
    /// `selfAttention`) → inner [N, I] → out [N, C]; the biases are added in the passes after the products.
    private func feedForward(_ l: BERTWeights.Layer, _ x: FloatBuffer, N: Int, threads: Int, inner: UnsafeMutablePointer<Float>, into out: FloatBuffer) {
        let I = config.intermediateSize
        l.intermediate.apply(x.p, rows: N, bias: nil, into: inner, threads: threads)
        let innerRows = UncheckedSendable(inner)
        Parallel.forEachPart(of: 0..<N, threads: threads) { part in
            RowKernels.apply(config.activation, innerRows.value + part.lowerBound * I, rows: part.count, n: I, bias: l.intermediateBias.p)
        }
        projectAddNorm(inner, inputs: I, weight: l.output, bias: l.outputBias, norm: (l.outputNormWeight, l.outputNormBias),
                       residual: x, N: N, threads: threads, into: out)
    }

    /// out = LN(residual + input·Wᵀ + bias), [N, C]. The product is added into `residual`, which
    /// it overwrites; the bias is added in the layer norm's pass.
    private func projectAddNorm(_ input: UnsafePointer<Float>, inputs k: Int, weight: LinearWeight, bias: Parameter, norm: (weight: Parameter, bias: Parameter),
                                residual x: FloatBuffer, N: Int, threads: Int, into out: FloatBuffer) {
        let C = config.hiddenSize
        weight.apply(input, rows: N, bias: nil, into: x.p, accumulate: true, threads: threads)
        Parallel.forEachPart(of: 0..<N, threads: threads) { part in
            let offset = part.lowerBound * C
            RowKernels.layerNorm(x.p + offset, bias: bias.p, into: out.p + offset, rows: part.count, n: C, gamma: norm.weight.p, beta: norm.bias.p,
                              epsilon: config.layerNormEpsilon)
        }
    }

    /// The pooler: tanh(W·h[CLS] + b) for each sequence. hidden: [B, T, C] → [B, C]; nil without a pooler.
    public func pooled(_ hidden: [Float], batch B: Int, length T: Int) -> [Float]? {
        guard let pooler = weights.pooler else { return nil }
        let C = config.hiddenSize
        var cls = [Float](repeating: 0, count: B * C)
        for b in 0..<B { for c in 0..<C { cls[b * C + c] = hidden[b * T * C + c] } }
        var out = [Float](repeating: 0, count: B * C)
        cls.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { o in
                pooler.weight.apply(x.baseAddress!, rows: B, bias: pooler.bias.p, into: o.baseAddress!, threads: 1)
                RowKernels.apply(.tanh, o.baseAddress!, rows: B, n: C)
            }
        }
        return out
    }

    /// Masked-LM logits for `rows` hidden states ([rows, C] → [rows, V]): transform, activation,
    /// layer norm, then the decoder tied to the word embeddings. Nil without the head.
    public func maskedLMLogits(_ hidden: [Float], rows: Int, threads: Int = 1) -> [Float]? {
        guard let head = weights.maskedLM else { return nil }
        let C = config.hiddenSize, V = config.vocabularySize
        var transformed = [Float](repeating: 0, count: rows * C)
        var logits = [Float](repeating: 0, count: rows * V)
        hidden.withUnsafeBufferPointer { x in
            transformed.withUnsafeMutableBufferPointer { t in
                head.transform.apply(x.baseAddress!, rows: rows, bias: head.transformBias.p, into: t.baseAddress!, threads: threads)
                RowKernels.apply(config.activation, t.baseAddress!, rows: rows, n: C)
                RowKernels.layerNorm(t.baseAddress!, into: t.baseAddress!, rows: rows, n: C, gamma: head.normWeight.p, beta: head.normBias.p,
                                  epsilon: config.layerNormEpsilon)
                logits.withUnsafeMutableBufferPointer { o in
                    head.decoder.apply(t.baseAddress!, rows: rows, bias: head.decoderBias.p, into: o.baseAddress!, threads: threads)
                }
            }
        }
        return logits
    }
}

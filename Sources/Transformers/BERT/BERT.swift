import Dispatch
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

    /// Loads `config.json` and the weights (any supported format) of a model directory.
    public convenience init(directory: String) throws {
        try self.init(config: BERTConfig(directory: directory), checkpoint: Checkpoint(path: directory))
    }

    public init(config: BERTConfig, checkpoint: Checkpoint) throws {
        self.config = config
        weights = try BERTWeights(checkpoint, config: config)
    }

    /// Checkpoint tensors the model did not use (shown by `--verbose`).
    public var unusedTensors: [String] { weights.unused }
    public var hasPooler: Bool { weights.pooler != nil }
    public var hasMaskedLMHead: Bool { weights.maskedLM != nil }

    /// Last hidden states, [B, T, C] row-major, for a padded batch: `ids`, `typeIds` and `mask`
    /// are [B, T]; `mask` is 1 for real tokens, 0 for padding (padding never changes real tokens'
    /// outputs: it is masked out of every attention).
    public func hiddenStates(ids: [Int32], typeIds: [Int32], mask: [Int32], batch B: Int, length T: Int) -> [Float] {
        precondition(ids.count == B * T && typeIds.count == B * T && mask.count == B * T, "hiddenStates: inputs must be [B, T]")
        precondition(T <= config.maxPositions, "hiddenStates: \(T) tokens exceed the \(config.maxPositions) positions")
        let C = config.hiddenSize, I = config.intermediateSize, N = B * T
        var x = [Float](repeating: 0, count: N * C)       // x: [B, T, C]
        var attended = [Float](repeating: 0, count: N * C)
        var inner = [Float](repeating: 0, count: N * I)   // [B, T, I]
        var q = [Float](repeating: 0, count: N * C), k = q, v = q, context = q
        embed(ids, typeIds, B: B, T: T, into: &x)
        for layer in weights.layers {
            selfAttention(layer, x, mask, B: B, T: T, q: &q, k: &k, v: &v, context: &context, into: &attended)
            feedForward(layer, attended, N: N, inner: &inner, into: &x)
        }
        return x
    }

    /// Embeddings: word + position + token type, then layer norm. x: [B, T, C].
    private func embed(_ ids: [Int32], _ typeIds: [Int32], B: Int, T: Int, into x: inout [Float]) {
        let C = config.hiddenSize, w = weights
        x.withUnsafeMutableBufferPointer { out in
            for b in 0..<B {
                for t in 0..<T {
                    let row = out.baseAddress! + (b * T + t) * C
                    let word = w.wordEmbeddings.p + Int(ids[b * T + t]) * C
                    let position = w.positionEmbeddings.p + t * C
                    let type = w.typeEmbeddings.p + Int(typeIds[b * T + t]) * C
                    for c in 0..<C { row[c] = word[c] + position[c] + type[c] }
                }
            }
            Kernels.addLayerNorm(out.baseAddress!, residual: nil, rows: B * T, n: C, gamma: w.embeddingNormWeight.p,
                                 beta: w.embeddingNormBias.p, epsilon: config.layerNormEpsilon)
        }
    }

    /// Multi-head self-attention with the padding mask, output projection, residual and layer norm.
    /// q, k, v, context: [B, T, C] (head h in channels h·D ..< (h+1)·D); scores per (b, h): [T, T].
    private func selfAttention(_ l: BERTWeights.Layer, _ x: [Float], _ mask: [Int32], B: Int, T: Int,
                               q: inout [Float], k: inout [Float], v: inout [Float], context: inout [Float],
                               into out: inout [Float]) {
        let C = config.hiddenSize, H = config.heads, D = config.headSize, N = B * T
        x.withUnsafeBufferPointer { x in
            q.withUnsafeMutableBufferPointer { BLAS.linear(x.baseAddress!, rows: N, inputs: C, weight: l.query.p, outputs: C, bias: l.queryBias.p, into: $0.baseAddress!) }
            k.withUnsafeMutableBufferPointer { BLAS.linear(x.baseAddress!, rows: N, inputs: C, weight: l.key.p, outputs: C, bias: l.keyBias.p, into: $0.baseAddress!) }
            v.withUnsafeMutableBufferPointer { BLAS.linear(x.baseAddress!, rows: N, inputs: C, weight: l.value.p, outputs: C, bias: l.valueBias.p, into: $0.baseAddress!) }
        }
        // Padding keys get the most negative f32 added before softmax, as transformers does
        // (torch.finfo(float32).min), so their weight is exactly zero.
        let maskBias = mask.map { $0 == 0 ? -Float.greatestFiniteMagnitude : 0 }
        let scale = 1 / Float(D).squareRoot()
        var scores = [Float](repeating: 0, count: T * T)
        q.withUnsafeBufferPointer { q in
            k.withUnsafeBufferPointer { k in
                v.withUnsafeBufferPointer { v in
                    context.withUnsafeMutableBufferPointer { ctx in
                        scores.withUnsafeMutableBufferPointer { s in
                            for b in 0..<B {
                                for h in 0..<H {
                                    let offset = b * T * C + h * D
                                    // scores = q·kᵀ / √D: [T, D]·[T, D]ᵀ
                                    BLAS.gemm(q.baseAddress! + offset, lda: C, k.baseAddress! + offset, ldb: C, transposeB: true,
                                              into: s.baseAddress!, ldc: T, m: T, n: T, k: D, alpha: scale)
                                    for i in 0..<T { for j in 0..<T { s[i * T + j] += maskBias[b * T + j] } }
                                    Kernels.softmaxRows(s.baseAddress!, rows: T, n: T)
                                    // context = softmax · v: [T, T]·[T, D]
                                    BLAS.gemm(s.baseAddress!, lda: T, v.baseAddress! + offset, ldb: C, transposeB: false,
                                              into: ctx.baseAddress! + offset, ldc: C, m: T, n: D, k: T)
                                }
                            }
                        }
                    }
                }
            }
        }
        context.withUnsafeBufferPointer { ctx in
            out.withUnsafeMutableBufferPointer { o in
                BLAS.linear(ctx.baseAddress!, rows: N, inputs: C, weight: l.attentionOutput.p, outputs: C, bias: l.attentionOutputBias.p, into: o.baseAddress!)
                x.withUnsafeBufferPointer { residual in
                    Kernels.addLayerNorm(o.baseAddress!, residual: residual.baseAddress!, rows: N, n: C, gamma: l.attentionNormWeight.p,
                                         beta: l.attentionNormBias.p, epsilon: config.layerNormEpsilon)
                }
            }
        }
    }

    /// Feed-forward: x·W₁ᵀ → activation → ·W₂ᵀ, residual, layer norm. x: [N, C] → inner [N, I] → out [N, C].
    private func feedForward(_ l: BERTWeights.Layer, _ x: [Float], N: Int, inner: inout [Float], into out: inout [Float]) {
        let C = config.hiddenSize, I = config.intermediateSize
        x.withUnsafeBufferPointer { x in
            inner.withUnsafeMutableBufferPointer { h in
                BLAS.linear(x.baseAddress!, rows: N, inputs: C, weight: l.intermediate.p, outputs: I, bias: l.intermediateBias.p, into: h.baseAddress!)
                Kernels.apply(config.activation, h.baseAddress!, count: N * I)
                out.withUnsafeMutableBufferPointer { o in
                    BLAS.linear(h.baseAddress!, rows: N, inputs: I, weight: l.output.p, outputs: C, bias: l.outputBias.p, into: o.baseAddress!)
                    Kernels.addLayerNorm(o.baseAddress!, residual: x.baseAddress!, rows: N, n: C, gamma: l.outputNormWeight.p,
                                         beta: l.outputNormBias.p, epsilon: config.layerNormEpsilon)
                }
            }
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
                BLAS.linear(x.baseAddress!, rows: B, inputs: C, weight: pooler.weight.p, outputs: C, bias: pooler.bias.p, into: o.baseAddress!)
                Kernels.apply(.tanh, o.baseAddress!, count: B * C)
            }
        }
        return out
    }

    /// Masked-LM logits for `rows` hidden states ([rows, C] → [rows, V]): transform, activation,
    /// layer norm, then the decoder tied to the word embeddings. Nil without the head.
    public func maskedLMLogits(_ hidden: [Float], rows: Int) -> [Float]? {
        guard let head = weights.maskedLM else { return nil }
        let C = config.hiddenSize, V = config.vocabularySize
        var transformed = [Float](repeating: 0, count: rows * C)
        var logits = [Float](repeating: 0, count: rows * V)
        hidden.withUnsafeBufferPointer { x in
            transformed.withUnsafeMutableBufferPointer { t in
                BLAS.linear(x.baseAddress!, rows: rows, inputs: C, weight: head.transform.p, outputs: C, bias: head.transformBias.p, into: t.baseAddress!)
                Kernels.apply(config.activation, t.baseAddress!, count: rows * C)
                Kernels.addLayerNorm(t.baseAddress!, residual: nil, rows: rows, n: C, gamma: head.normWeight.p, beta: head.normBias.p,
                                     epsilon: config.layerNormEpsilon)
                logits.withUnsafeMutableBufferPointer { o in
                    BLAS.linear(t.baseAddress!, rows: rows, inputs: C, weight: weights.wordEmbeddings.p, outputs: V,
                                bias: head.decoderBias.p, into: o.baseAddress!)
                }
            }
        }
        return logits
    }
}

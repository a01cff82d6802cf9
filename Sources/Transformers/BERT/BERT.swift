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

    /// Last hidden states, [B, T, C] row-major, for a right-padded batch: `ids`, `typeIds` and
    /// `mask` are [B, T]; `mask` is 1 for each sequence's real tokens, then 0 for its padding (which
    /// never changes real tokens' outputs: padding keys get zero attention weight). Matrix products
    /// use `threads` OpenBLAS threads.
    public func hiddenStates(ids: [Int32], typeIds: [Int32], mask: [Int32], batch B: Int, length T: Int, threads: Int = 1) -> [Float] {
        precondition(ids.count == B * T && typeIds.count == B * T && mask.count == B * T, "hiddenStates: inputs must be [B, T]")
        precondition(T <= config.maxPositions, "hiddenStates: \(T) tokens exceed the \(config.maxPositions) positions")
        BLAS.setThreads(threads)
        let lengths = (0..<B).map { b in Int(mask[(b * T)..<((b + 1) * T)].reduce(0, +)) }
        precondition((0..<B).allSatisfy { b in (0..<T).allSatisfy { mask[b * T + $0] == ($0 < lengths[b] ? 1 : 0) } },
                     "hiddenStates: the mask must be right padding (ones, then zeros)")
        let C = config.hiddenSize, I = config.intermediateSize, N = B * T
        var x = [Float](repeating: 0, count: N * C)       // x: [B, T, C]
        var attended = [Float](repeating: 0, count: N * C)
        var inner = [Float](repeating: 0, count: N * I)   // [B, T, I]
        var qkv = [Float](repeating: 0, count: N * 3 * C) // [B, T, 3C]: q, k, v side by side
        var context = [Float](repeating: 0, count: N * C)
        embed(ids, typeIds, B: B, T: T, into: &x)
        for layer in weights.layers {
            selfAttention(layer, x, lengths: lengths, B: B, T: T, threads: threads, qkv: &qkv, context: &context, into: &attended)
            feedForward(layer, attended, N: N, threads: threads, inner: &inner, into: &x)
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

    /// Multi-head self-attention, output projection, residual and layer norm.
    /// qkv: [B, T, 3C] (head h of q at channels h·D ..< (h+1)·D, k at C + …, v at 2C + …);
    /// scores per (b, h): [T, L] over the sequence's L real keys; context: [B, T, C].
    private func selfAttention(_ l: BERTWeights.Layer, _ x: [Float], lengths: [Int], B: Int, T: Int, threads: Int,
                               qkv: inout [Float], context: inout [Float], into out: inout [Float]) {
        let C = config.hiddenSize, H = config.heads, D = config.headSize, N = B * T
        x.withUnsafeBufferPointer { x in
            qkv.withUnsafeMutableBufferPointer {
                BLAS.linear(x.baseAddress!, rows: N, inputs: C, weight: l.queryKeyValue.p, outputs: 3 * C, bias: l.queryKeyValueBias.p,
                            into: $0.baseAddress!)
            }
        }
        let scale = 1 / Float(D).squareRoot()
        qkv.withUnsafeBufferPointer { qkvBuffer in
            context.withUnsafeMutableBufferPointer { contextBuffer in
                let shared = SharedBuffers(input: qkvBuffer.baseAddress!, output: contextBuffer.baseAddress!)
                // Sequences are spread over the threads, each running its small products on one BLAS thread.
                Parallel.forEach(0..<B, threads: threads) { b in
                    let L = lengths[b]
                    let scores = UnsafeMutablePointer<Float>.allocate(capacity: T * T)
                    defer { scores.deallocate() }
                    for h in 0..<H {
                        let q = shared.input + b * T * 3 * C + h * D
                        // scores = q·kᵀ / √D over the L real keys: [T, D]·[L, D]ᵀ
                        BLAS.gemm(q, lda: 3 * C, q + C, ldb: 3 * C, transposeB: true, into: scores, ldc: T, m: T, n: L, k: D, alpha: scale)
                        Kernels.softmaxRows(scores, rows: T, n: L, stride: T)
                        // context = softmax · v: [T, L]·[L, D]
                        BLAS.gemm(scores, lda: T, q + 2 * C, ldb: 3 * C, transposeB: false,
                                  into: shared.output + b * T * C + h * D, ldc: C, m: T, n: D, k: L)
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
    private func feedForward(_ l: BERTWeights.Layer, _ x: [Float], N: Int, threads: Int, inner: inout [Float], into out: inout [Float]) {
        let C = config.hiddenSize, I = config.intermediateSize
        x.withUnsafeBufferPointer { x in
            inner.withUnsafeMutableBufferPointer { h in
                BLAS.linear(x.baseAddress!, rows: N, inputs: C, weight: l.intermediate.p, outputs: I, bias: l.intermediateBias.p, into: h.baseAddress!)
                let activations = SharedBuffers(input: h.baseAddress!, output: h.baseAddress!)
                Parallel.forEach(0..<N, threads: threads) { row in Kernels.apply(config.activation, activations.output + row * I, count: I) }
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

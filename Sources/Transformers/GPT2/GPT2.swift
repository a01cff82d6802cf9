import CkptSupport
import Kernels
import TensorFormats

/// A GPT-2 decoder on the CPU, reading as the math. Dimension letters:
/// `S` sequences, `T` new tokens per sequence, `P` tokens already cached, `L` = P + T keys,
/// `C` channels, `H` heads, `D` = C / H per head, `I` feed-forward size, `V` vocabulary.
///
/// Every call runs new tokens through the model at once — a whole prompt as matrix products (the
/// prefill), or one token per step against the `KVCache` (decoding). Matches transformers'
/// GPT2LMHeadModel within 1e-4 (max absolute difference of logits; tested on tiny random
/// checkpoints in every layout, for every prompt length up to the context).
public final class GPT2: @unchecked Sendable {
    public let config: GPT2Config
    let weights: GPT2Weights
    private let workspaces = WorkspacePool()
    /// Query rows of a prompt whose causal attention runs as one pair of products.
    private static let queryBlock = 64
    /// Cached keys from which a decoded token's heads are spread over the threads; over a shorter
    /// cache, attention is a small share of a step.
    private static let threadedDecodeKeys = 128

    /// The precision of the products with weights.
    public let precision: Precision

    /// Whether the output heads were loaded.
    public let heads: OutputHeads

    /// The precision of a prompt's attention products over more than 64 keys (see
    /// `AttentionHead.precision(forWeights:)`); over fewer, and for a decoded token (whose one row
    /// of products is bound by reading the cache), they run in f32.
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
        try self.init(config: GPT2Config(json: source.config.json, path: source.config.path), checkpoint: checkpoint,
                      precision: precision ?? source.storedPrecision(of: checkpoint), heads: heads)
    }

    public init(config: GPT2Config, checkpoint: Checkpoint, precision: Precision = .f32, heads: OutputHeads = .loaded) throws {
        self.config = config
        self.precision = precision
        self.heads = heads
        weights = try GPT2Weights(checkpoint, config: config, precision: precision, heads: heads)
    }

    /// Checkpoint tensors the model did not use (shown by `--verbose`); the causal-mask buffers are not listed.
    public var unusedTensors: [String] { weights.unused }

    /// Bytes of weights one decoding step reads (the matrices as packed for the precision): every matrix and vector once, the output
    /// projection included (the tied `wte` counts once more as the output), one position row. The model's heads must be loaded.
    public var weightBytesPerToken: Int {
        let c = config, C = c.hiddenSize, I = c.intermediateSize
        let products = weights.layers.reduce(loadedOutput.bytes) {
            $0 + $1.attention.bytes + $1.attentionOutput.bytes + $1.feedForward.bytes + $1.feedForwardOutput.bytes
        }
        // Per layer two norms and four biases; then the final norm, and a token's two embedding rows.
        return products + 4 * (c.layers * (4 * C + 3 * C + C + I + C) + 2 * C + 2 * C)
    }

    /// How `makeCache` stores keys and values: bf16 where the weights are reduced (bf16 or int8),
    /// which halves the bytes a decoded token's attention reads; else f32.
    public var cacheElements: KVCache.Elements { precision == .f32 ? .f32 : .bf16 }

    /// An empty cache for this model (`elements`, else `cacheElements`), for `sequences` sequences of
    /// up to `capacity` tokens (the context length when nil; a cache sized for the tokens it will
    /// hold costs less to fill).
    public func makeCache(sequences: Int = 1, capacity: Int? = nil, elements: KVCache.Elements? = nil) -> KVCache {
        KVCache(for: config, sequences: sequences, capacity: capacity, elements: elements ?? cacheElements)
    }

    /// Logits for `ids` ([T] new tokens of the cache's one sequence), continuing after the cached
    /// tokens: [T, V] with `allPositions`, else the last position's [V]. The tokens' keys and values
    /// are appended to the cache.
    public func logits(_ ids: [Int32], cache: KVCache, allPositions: Bool = false, threads: Int = 1) -> [Float] {
        precondition(cache.sequences == 1, "GPT2.logits: the cache must hold one sequence")
        let output = loadedOutput, hidden = forward(ids, sequences: 1, cache: cache, threads: threads)
        let T = ids.count, C = config.hiddenSize, V = config.vocabularySize
        let rows = allPositions ? T : 1
        // logits = h · Eᵀ: [rows, C]·[V, C]ᵀ over the last `rows` positions, written into the array returned
        return [Float](unsafeUninitializedCapacity: rows * V) { logits, count in
            output.apply(hidden.p + (T - rows) * C, rows: rows, bias: nil, into: logits.baseAddress!, threads: threads)
            count = rows * V
        }
    }

    /// The LM head; a model loaded with its heads omitted has none, and asking for logits is a programming error.
    var loadedOutput: LinearWeight {
        guard let output = weights.output else { preconditionFailure("GPT2: logits need the LM head, which was not loaded (heads: .omitted)") }
        return output
    }

    /// Final hidden states (after `ln_f`, as GPT2Model's last_hidden_state), [B, T, C], for a
    /// right-padded batch of `B` sequences of `T` tokens, the first `lengths[b]` of sequence b real
    /// (all T when nil). Attention runs over each sequence's own tokens, so a sequence's states are
    /// the same bits whatever batch it is in; padding rows hold states of no meaning.
    public func hiddenStates(ids: [Int32], batch B: Int, length T: Int, lengths: [Int]? = nil, threads: Int = 1) -> [Float] {
        precondition(ids.count == B * T, "hiddenStates: ids must be [B, T]")
        let cache = makeCache(sequences: B, capacity: T)
        return forward(ids, sequences: B, lengths: lengths, cache: cache, threads: threads).array
    }

    /// The attention probabilities of every layer and head for the batch of `hiddenStates`, causal:
    /// query q weighs keys 0 ... q; a sequence's padding queries are not run and hold zeros.
    public func attention(ids: [Int32], batch B: Int, length T: Int, lengths: [Int]? = nil, threads: Int = 1) -> AttentionMaps {
        precondition(ids.count == B * T, "attention: ids must be [B, T]")
        let recorder = AttentionRecorder(layers: config.layers, batch: B, heads: config.heads, length: T)
        _ = forward(ids, sequences: B, lengths: lengths, cache: makeCache(sequences: B, capacity: T), threads: threads, recorder: recorder)
        return recorder.maps
    }

    /// Runs ids [S, T] at positions P ..< P + T (P = cache.count), returning x: [S, T, C] after `ln_f`.
    /// `lengths`: the real tokens of each sequence (right padding; all T when nil).
    /// `recorder` (a fresh cache only) receives the attention probabilities.
    func forward(_ ids: [Int32], sequences S: Int, lengths: [Int]? = nil, cache: KVCache, threads: Int,
                 recorder: AttentionRecorder? = nil) -> FloatBuffer {
        let T = ids.count / S, P = cache.count
        precondition(T >= 1 && ids.count == S * T, "GPT2.forward: ids must be [S, T] with T ≥ 1")
        precondition(P + T <= cache.capacity, "GPT2.forward: \(P + T) tokens exceed the cache's \(cache.capacity)")
        precondition(ids.allSatisfy { $0 >= 0 && Int($0) < config.vocabularySize }, "GPT2.forward: token id outside the vocabulary")
        let lengths = lengths ?? [Int](repeating: T, count: S)
        precondition(lengths.count == S && lengths.allSatisfy { (0...T).contains($0) }, "GPT2.forward: a length outside 0...T")
        let C = config.hiddenSize, I = config.intermediateSize, N = S * T, w = weights
        let x = FloatBuffer(N * C)
        embed(ids, T: T, P: P, threads: threads, into: x)
        // h: [S, T, C] (normalised x). Attention uses one region as qkv [S, T, 3C] and context
        // [S, T, C]; the feed-forward, which runs after it, as inner [S, T, I].
        workspaces.withBuffers([N * C, N * max(4 * C, I)]) { buffers in
            let (h, region) = (buffers[0], buffers[1].p)
            let (qkv, context, inner) = (region, region + N * 3 * C, region)
            for (l, layer) in w.layers.enumerated() {
                // Attention block: x += Attention(LN₁(x))
                layerNorm(x, into: h, rows: N, layer.norm1Weight, layer.norm1Bias, threads: threads)
                layer.attention.apply(h.p, rows: N, bias: layer.attentionBias.p, into: qkv, threads: threads)
                attention(qkv, layer: l, S: S, T: T, lengths: lengths, cache: cache, threads: threads, into: context, recorder: recorder)
                layer.attentionOutput.apply(context, rows: N, bias: layer.attentionOutputBias.p, into: x.p, accumulate: true, threads: threads)
                // Feed-forward block: x += W₂ · act(W₁ · LN₂(x))
                layerNorm(x, into: h, rows: N, layer.norm2Weight, layer.norm2Bias, threads: threads)
                layer.feedForward.apply(h.p, rows: N, bias: nil, into: inner, threads: threads)
                let innerRows = UncheckedSendable(inner)
                Parallel.forEachPart(of: 0..<N, threads: threads) { part in
                    RowKernels.apply(config.activation, innerRows.value + part.lowerBound * I, rows: part.count, n: I, bias: layer.feedForwardBias.p)
                }
                layer.feedForwardOutput.apply(inner, rows: N, bias: layer.feedForwardOutputBias.p, into: x.p, accumulate: true,
                                              threads: threads)
            }
        }
        cache.count = P + T
        layerNorm(x, into: x, rows: N, w.finalNormWeight, w.finalNormBias, threads: threads)
        return x
    }

    /// y = LayerNorm(x) · γ + β over `rows` rows of C, split over the threads.
    private func layerNorm(_ x: FloatBuffer, into y: FloatBuffer, rows: Int, _ gamma: Parameter, _ beta: Parameter, threads: Int) {
        let C = config.hiddenSize
        Parallel.forEachPart(of: 0..<rows, threads: threads) { part in
            RowKernels.layerNorm(x.p + part.lowerBound * C, into: y.p + part.lowerBound * C, rows: part.count, n: C, gamma: gamma.p, beta: beta.p,
                              epsilon: config.layerNormEpsilon)
        }
    }

    /// Token plus position embeddings. x: [S, T, C], positions P ..< P + T. Each thread takes a
    /// part of the rows: a token table read from its file costs a system call per row.
    private func embed(_ ids: [Int32], T: Int, P: Int, threads: Int, into x: FloatBuffer) {
        let C = config.hiddenSize, w = weights
        Parallel.forEachPart(of: ids.indices, threads: threads) { part in
            w.tokenEmbeddings.copyRows(ids[part], width: C, into: x.p + part.lowerBound * C)
            for n in part {
                let row = x.p + n * C, position = w.positionEmbeddings.p + (P + n % T) * C
                for c in 0..<C { row[c] += position[c] }
            }
        }
    }

    /// Causal multi-head self-attention of the new tokens over the cached ones and themselves.
    /// qkv: [S, T, 3C] (head h of q at channels h·D ..< (h+1)·D, k at C + …, v at 2C + …); each
    /// head first writes its new keys and values to the cache; scores per (s, h): [T, L], row i seeing
    /// keys 0 ... P + i; context: [S, T, C]. Only each sequence's first `lengths[s]` queries run,
    /// in products of its own shape; the context of its padding rows is zero.
    private func attention(_ qkv: UnsafeMutablePointer<Float>, layer l: Int, S: Int, T: Int, lengths: [Int], cache: KVCache, threads: Int,
                           into context: UnsafeMutablePointer<Float>, recorder: AttentionRecorder?) {
        let C = config.hiddenSize, H = config.heads, D = config.headSize, P = cache.count, L = P + T
        precondition(recorder == nil || P == 0, "GPT2.attention: attention is recorded from an empty cache only")
        let scale = 1 / Float(D).squareRoot()
        // (sequence, head) pairs are spread over the threads, with one score buffer per thread: a
        // buffer per pair (128 KB at 512 tokens, mmap'd by malloc) cost a mapping, page faults and
        // an unmapping each time.
        let promptInBF16 = attentionPrecision == .bf16 && T > 1, blockRows = min(T, Self.queryBlock)
        let decoding = T == 1, padded = AttentionHead.wholeVectors(L)
        // The keys a prompt's f32 products read: all of them, or in bf16 only those of the blocks that see few.
        let f32Keys = promptInBF16 ? min(L, AttentionHead.maxKeys) : L, shared = UncheckedSendable((qkv: qkv, context: context))
        Parallel.forEachPart(of: 0..<(S * H), threads: T > 1 || L >= Self.threadedDecodeKeys ? threads : 1) { pairs in
            let (qkv, context) = shared.value
            // Room for score rows padded to whole vectors, as the bf16 kernels write them.
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * padded)
            let packing = UnsafeMutablePointer<UInt32>.allocate(
                capacity: promptInBF16 ? AttentionHead.PackedBF16Head.scratch(queries: blockRows, keys: L, d: D) : 0)
            // A bf16 cache's head widened for a prompt's f32 products (a decoded token's kernels read the bits).
            let widened = UnsafeMutablePointer<Float>.allocate(capacity: cache.elements == .bf16 && !decoding ? 2 * f32Keys * D : 0)
            defer {
                scores.deallocate()
                packing.deallocate()
                widened.deallocate()
            }
            for pair in pairs {
                let s = pair / H, h = pair % H
                cache.append(layer: l, sequence: s, head: h, position: P, tokens: T, from: qkv + s * T * 3 * C + C, ld: 3 * C)
                for t in lengths[s]..<T { (context + (s * T + t) * C + h * D).update(repeating: 0, count: D) }
                if decoding {
                    if lengths[s] == 1 {
                        attendOneQuery(qkv + s * 3 * C + h * D, cache.rows(layer: l, sequence: s, head: h), keys: L, scale: scale, scores: scores,
                                       stride: padded, into: context + s * C + h * D)
                        recorder?.record(layer: l, sequence: s, head: h, firstQuery: 0, rows: 1, keys: L, scores: scores, stride: padded)
                    }
                    continue
                }
                let (keys, values) = cache.widenedRows(layer: l, sequence: s, head: h, tokens: f32Keys, scratch: widened)
                // The keys and values of the blocks in bf16, packed once for all of them.
                let seenByAll = P + lengths[s]
                let packed = promptInBF16 && seenByAll > AttentionHead.maxKeys
                    ? AttentionHead.PackedBF16Head(cache.rows(layer: l, sequence: s, head: h), ld: D, keys: seenByAll, d: D, queries: blockRows,
                                                   scratch: packing)
                    : nil
                // Query rows in blocks, each against the keys up to its last row only: a long prompt
                // skips most of the products whose scores the causal mask would zero.
                for first in stride(from: 0, to: lengths[s], by: Self.queryBlock) {
                    let rows = min(Self.queryBlock, lengths[s] - first), seen = P + first + rows
                    // The f32 route keeps unpadded rows: oneDNN's GEMM rounds differently for another leading dimension.
                    let bf16Head = seen > AttentionHead.maxKeys ? packed : nil, ld = bf16Head != nil ? AttentionHead.wholeVectors(seen) : seen
                    let q = qkv + (s * T + first) * 3 * C + h * D, out = context + (s * T + first) * C + h * D
                    // scores = q·kᵀ / √D: [rows, D]·[seen, D]ᵀ
                    if let bf16Head {
                        AttentionHead.scoresInBF16(q, ldq: 3 * C, bf16Head, rows: rows, keys: seen, scale: scale, into: scores, stride: ld)
                    } else {
                        MatmulEngine.current.gemm(q, lda: 3 * C, keys, ldb: D, transposeB: true, into: scores, ldc: ld, m: rows, n: seen, k: D, alpha: scale)
                    }
                    // The causal mask: row i keeps its first P + i + 1 keys; later ones get weight 0.
                    for i in 0..<rows { RowKernels.softmaxRows(scores + i * ld, rows: 1, n: P + first + i + 1, stride: ld) }
                    recorder?.record(layer: l, sequence: s, head: h, firstQuery: first, rows: rows, keys: seen, scores: scores, stride: ld)
                    // context = softmax · v: [rows, seen]·[seen, D]
                    if let bf16Head {
                        AttentionHead.contextInBF16(scores, ldp: ld, bf16Head, rows: rows, keys: seen, into: out, ldo: C)
                    } else {
                        MatmulEngine.current.gemm(scores, lda: ld, values, ldb: D, transposeB: false, into: out, ldc: C, m: rows, n: D, k: seen)
                    }
                }
            }
        }
    }

    /// A decoded token's attention in one head: its query's scores over the `keys` cached keys,
    /// their softmax (in `scores`, `stride` ≥ keys rounded up to 16) and the context, by ckpt's
    /// own kernels, which read each cached key and value once (a bf16 cache's as bits, widened
    /// as they load, the same sums as over f32).
    private func attendOneQuery(_ q: UnsafePointer<Float>, _ head: KVCache.HeadRows, keys L: Int, scale: Float,
                                scores: UnsafeMutablePointer<Float>, stride: Int, into out: UnsafeMutablePointer<Float>) {
        let D = config.headSize
        switch head {
        case let .f32(keys, _): AttentionHead.queryScores(q, keys, ldk: D, keys: L, d: D, scale: scale, into: scores)
        case let .bf16(keys, _): AttentionHead.queryScores(q, bf16Keys: keys, ldk: D, keys: L, d: D, scale: scale, into: scores)
        }
        RowKernels.softmaxRows(scores, rows: 1, n: L, stride: stride)
        switch head {
        case let .f32(_, values): AttentionHead.context(scores, ldp: stride, values, ldv: D, rows: 1, keys: L, d: D, into: out, ldo: D)
        case let .bf16(_, values): AttentionHead.queryContext(scores, bf16Values: values, ldv: D, keys: L, d: D, into: out)
        }
    }
}

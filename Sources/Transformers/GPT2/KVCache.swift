import CKernels
import Kernels

/// The keys and values of every token a GPT-2 has seen, per layer, for `sequences` sequences that
/// advance together: [S, H, capacity, D] each, so that one head's keys (and values) lie in one
/// run of memory, which a decoded token's attention reads in order. Decoding a token then costs
/// one row of projections, not a pass over the prompt.
public final class KVCache: @unchecked Sendable {
    /// How the cache stores keys and values: as the projection computed them, or rounded to bf16
    /// (nearest, ties to even), half the bytes a decoded token's attention reads.
    public enum Elements: String, Sendable {
        case f32, bf16
    }

    public let sequences: Int
    /// Most tokens per sequence (the model's context length).
    public let capacity: Int
    public let elements: Elements
    let heads: Int
    let headSize: Int
    /// f32 values, or bf16 bits two to a float.
    private let keys: [FloatBuffer]
    private let values: [FloatBuffer]
    /// Tokens cached so far, per sequence.
    public internal(set) var count = 0

    /// An empty cache for `sequences` sequences of up to `capacity` tokens (at most the context
    /// length). `GPT2.makeCache` chooses the elements for the model's precision.
    public init(for config: GPT2Config, sequences: Int = 1, capacity: Int? = nil, elements: Elements = .f32) {
        self.sequences = sequences
        self.capacity = min(capacity ?? config.maxPositions, config.maxPositions)
        self.elements = elements
        heads = config.heads
        headSize = config.headSize
        let size = sequences * self.capacity * config.hiddenSize, floats = elements == .f32 ? size : (size + 1) / 2
        // On 2 MB pages: a 512-token prompt of the 124M shape writes 38 MB of keys and values, in
        // 13 ms rather than 23–28 (9,200 fewer page faults). The cost: a layer's keys or values
        // hold at least one 2 MB page, and every page the heads' runs span is cleared on first
        // use, so callers size the cache for the tokens they will run.
        keys = (0..<config.layers).map { _ in FloatBuffer(floats, hugePages: true) }
        values = (0..<config.layers).map { _ in FloatBuffer(floats, hugePages: true) }
    }

    /// Room left per sequence.
    public var remaining: Int { capacity - count }

    /// Forgets every cached token (the buffers are reused).
    public func reset() { count = 0 }

    /// One head's keys and values, [capacity, D] each, rows D apart, as the cache holds them.
    typealias HeadRows = AttentionHead.KeyValueRows

    /// Head `head` of sequence `s` in layer `layer`.
    func rows(layer: Int, sequence s: Int, head: Int) -> HeadRows {
        let offset = (s * heads + head) * capacity * headSize
        switch elements {
        case .f32: return .f32(keys: keys[layer].p + offset, values: values[layer].p + offset)
        case .bf16: return .bf16(keys: bits(keys[layer]) + offset, values: bits(values[layer]) + offset)
        }
    }

    /// The same head's first `tokens` keys and values as f32, [tokens, D] each: the cache itself,
    /// or for a bf16 cache, widened (exactly) into `scratch` (2 · tokens · D floats).
    func widenedRows(layer: Int, sequence s: Int, head: Int, tokens: Int, scratch: UnsafeMutablePointer<Float>)
        -> (keys: UnsafePointer<Float>, values: UnsafePointer<Float>) {
        switch rows(layer: layer, sequence: s, head: head) {
        case let .f32(keys, values):
            return (keys, values)
        case let .bf16(keys, values):
            let count = tokens * headSize
            ckpt_from_bf16(keys, scratch, Int64(count))
            ckpt_from_bf16(values, scratch + count, Int64(count))
            return (UnsafePointer(scratch), UnsafePointer(scratch + count))
        }
    }

    /// Writes head `head`'s keys and values of `tokens` tokens of sequence `s` at positions
    /// `position`..., from rows `ld` apart holding each token's keys, then its values, C floats
    /// on (heads side by side in C, as the attention projection makes them).
    func append(layer: Int, sequence s: Int, head: Int, position: Int, tokens: Int, from kv: UnsafePointer<Float>, ld: Int) {
        let C = heads * headSize, source = kv + head * headSize
        let first = ((s * heads + head) * capacity + position) * headSize
        switch elements {
        case .f32:
            for t in 0..<tokens {
                let k = source + t * ld, v = k + C, at = first + t * headSize
                (keys[layer].p + at).update(from: k, count: headSize)
                (values[layer].p + at).update(from: v, count: headSize)
            }
        case .bf16:
            // The cache's rows are headSize apart.
            let (rows, n) = (Int64(tokens), Int64(headSize))
            ckpt_rows_to_bf16(source, Int64(ld), rows, n, bits(keys[layer]) + first, n)
            ckpt_rows_to_bf16(source + C, Int64(ld), rows, n, bits(values[layer]) + first, n)
        }
    }

    /// A bf16 cache's buffer as the bits it holds.
    private func bits(_ buffer: FloatBuffer) -> UnsafeMutablePointer<UInt16> {
        UnsafeMutableRawPointer(buffer.p).assumingMemoryBound(to: UInt16.self)
    }
}

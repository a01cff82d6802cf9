import Kernels
/// The keys and values of every token a GPT-2 has seen, per layer, for `sequences` sequences that
/// advance together: [S, H, capacity, D] each, so that one head's keys (and values) lie in one
/// run of memory. Decoding a token then costs one row of projections, not a pass over the prompt,
/// and its attention streams each head's cache from memory (rows of the projection's [C] layout,
/// one 256-byte head slice per 3 KB, were read at a third of the memory's rate).
public final class KVCache: @unchecked Sendable {
    public let sequences: Int
    /// Most tokens per sequence (the model's context length).
    public let capacity: Int
    let heads: Int
    let headSize: Int
    let keys: [FloatBuffer]
    let values: [FloatBuffer]
    /// Tokens cached so far, per sequence.
    public internal(set) var count = 0

    /// An empty cache for `sequences` sequences of up to `capacity` tokens (at most the context length).
    public init(for config: GPT2Config, sequences: Int = 1, capacity: Int? = nil) {
        self.sequences = sequences
        self.capacity = min(capacity ?? config.maxPositions, config.maxPositions)
        heads = config.heads
        headSize = config.headSize
        let size = sequences * self.capacity * config.hiddenSize
        // On 2 MB pages: a 512-token prompt of the 124M shape writes 38 MB of keys and values, in
        // 13 ms rather than 23–28 (9,200 fewer page faults). The cost: a layer's keys or values
        // hold at least one 2 MB page, and every page the heads' runs span is cleared on first
        // use, so callers size the cache for the tokens they will run.
        keys = (0..<config.layers).map { _ in FloatBuffer(size, hugePages: true) }
        values = (0..<config.layers).map { _ in FloatBuffer(size, hugePages: true) }
    }

    /// Room left per sequence.
    public var remaining: Int { capacity - count }

    /// Forgets every cached token (the buffers are reused).
    public func reset() { count = 0 }

    /// Head `head` of sequence `s` in layer `layer`'s keys: [capacity, D], rows D apart.
    func headKeys(layer: Int, sequence s: Int, head: Int) -> UnsafeMutablePointer<Float> {
        keys[layer].p + (s * heads + head) * capacity * headSize
    }

    /// The same head's values.
    func headValues(layer: Int, sequence s: Int, head: Int) -> UnsafeMutablePointer<Float> {
        values[layer].p + (s * heads + head) * capacity * headSize
    }

    /// Writes head `head`'s keys and values of `tokens` tokens of sequence `s` at positions
    /// `position`..., from rows `ld` apart holding each token's keys, then its values, C floats
    /// on (heads side by side in C, as the attention projection makes them).
    func append(layer: Int, sequence s: Int, head: Int, position: Int, tokens: Int, from kv: UnsafePointer<Float>, ld: Int) {
        let C = heads * headSize, source = kv + head * headSize
        let keys = headKeys(layer: layer, sequence: s, head: head) + position * headSize
        let values = headValues(layer: layer, sequence: s, head: head) + position * headSize
        for t in 0..<tokens {
            (keys + t * headSize).update(from: source + t * ld, count: headSize)
            (values + t * headSize).update(from: source + t * ld + C, count: headSize)
        }
    }
}

import Kernels

/// The attention probabilities of every layer and head for a right-padded batch, as the model
/// computes them: `values` is [layers, B, H, T, T] row-major, row (query) q of sequence b holding
/// the softmax weights over keys 0 ..< T. Keys past a sequence's real tokens (padding) and, for a
/// causal model, keys after the query have weight exactly 0; a causal model's padding queries are
/// not run and hold zeros.
public struct AttentionMaps: Sendable {
    public let layers: Int
    public let batch: Int
    public let heads: Int
    public let length: Int
    public let values: [Float]

    /// The [T, T] map of one layer, sequence and head, row-major (query, key).
    public func map(layer: Int, sequence: Int, head: Int) -> ArraySlice<Float> {
        let size = length * length, start = ((layer * batch + sequence) * heads + head) * size
        return values[start..<(start + size)]
    }
}

/// Where a forward pass writes its attention probabilities. Threads write disjoint rows (one
/// (sequence, head) pair is run by one thread), so the buffer is shared without a lock.
final class AttentionRecorder: @unchecked Sendable {
    let layers: Int, batch: Int, heads: Int, length: Int
    private let buffer: FloatBuffer

    init(layers: Int, batch: Int, heads: Int, length: Int) {
        (self.layers, self.batch, self.heads, self.length) = (layers, batch, heads, length)
        buffer = FloatBuffer(layers * batch * heads * length * length)
        buffer.p.update(repeating: 0, count: buffer.count)
    }

    /// Copies `rows` softmax rows (the first `keys` entries of each, `stride` apart) as the rows
    /// `firstQuery ..< firstQuery + rows` of (layer, sequence, head); later keys stay 0.
    func record(layer: Int, sequence: Int, head: Int, firstQuery: Int, rows: Int, keys: Int,
                scores: UnsafePointer<Float>, stride: Int) {
        let map = buffer.p + ((layer * batch + sequence) * heads + head) * length * length
        for i in 0..<rows {
            (map + (firstQuery + i) * length).update(from: scores + i * stride, count: keys)
        }
    }

    var maps: AttentionMaps {
        AttentionMaps(layers: layers, batch: batch, heads: heads, length: length,
                      values: Array(UnsafeBufferPointer(start: buffer.p, count: buffer.count)))
    }
}

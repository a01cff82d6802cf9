import Transformers

/// One sequence's attention maps and the parts of them a person asks to see: a layer or all, a head,
/// all heads, or their mean or maximum; and attention rollout.
public struct AttentionView: Sendable {
    /// Which layers to show.
    public enum Layers: Sendable, Equatable {
        case all
        case one(Int)
    }

    /// Which heads to show, or how to reduce them to one map per layer.
    public enum Heads: Sendable, Equatable {
        case all
        case one(Int)
        case mean
        case max
    }

    public let layers: Int
    public let heads: Int
    /// Tokens (queries and keys).
    public let length: Int
    /// [layers, heads, T, T], row-major.
    public let values: [Float]

    /// The maps of sequence `sequence` of a batch's `AttentionMaps`, cut to its first `length` tokens.
    public init(_ maps: AttentionMaps, sequence: Int = 0, length: Int? = nil) {
        let T = length ?? maps.length
        precondition(T <= maps.length, "AttentionView: more tokens than the maps hold")
        layers = maps.layers
        heads = maps.heads
        self.length = T
        var values = [Float]()
        values.reserveCapacity(maps.layers * maps.heads * T * T)
        for l in 0..<maps.layers {
            for h in 0..<maps.heads {
                let map = maps.map(layer: l, sequence: sequence, head: h)
                for q in 0..<T { values += map[(map.startIndex + q * maps.length)..<(map.startIndex + q * maps.length + T)] }
            }
        }
        self.values = values
    }

    /// A view of maps given as [layers, heads, T, T] values.
    public init(layers: Int, heads: Int, length: Int, values: [Float]) {
        precondition(values.count == layers * heads * length * length, "AttentionView: values do not fill [layers, heads, T, T]")
        (self.layers, self.heads, self.length, self.values) = (layers, heads, length, values)
    }

    /// The [T, T] map of one layer and head.
    public func map(layer: Int, head: Int) -> ArraySlice<Float> {
        let size = length * length, start = (layer * heads + head) * size
        return values[start..<(start + size)]
    }

    /// Checks a selection against the model's layers and heads.
    public func validate(_ layers: Layers, _ heads: Heads) throws {
        if case .one(let l) = layers, !(0..<self.layers).contains(l) {
            throw AnalysisError.outOfRange("layer \(l)", "0 ... \(self.layers - 1)")
        }
        if case .one(let h) = heads, !(0..<self.heads).contains(h) {
            throw AnalysisError.outOfRange("head \(h)", "0 ... \(self.heads - 1)")
        }
    }

    /// The selected maps, whose nested form is [layer][head][query][key] without the layer level
    /// when one layer is picked and without the head level when one head is picked or the heads are
    /// reduced (mean, max): see `Selection.shape`.
    public func selection(_ layers: Layers, _ heads: Heads) -> Selection {
        let layerIndices: [Int] = if case .one(let l) = layers { [l] } else { Array(0..<self.layers) }
        let maps = layerIndices.map { l in headMaps(layer: l, heads) }
        return Selection(layerIndices: layerIndices, headLabels: headLabels(heads), maps: maps, length: length,
                         dropsLayer: layers != .all, dropsHead: heads != .all)
    }

    private func headMaps(layer l: Int, _ heads: Heads) -> [[Float]] {
        switch heads {
        case .all: return (0..<self.heads).map { Array(map(layer: l, head: $0)) }
        case .one(let h): return [Array(map(layer: l, head: h))]
        case .mean: return [meanOfHeads(layer: l).map(Float.init)]
        case .max:
            var out = Array(map(layer: l, head: 0))
            for h in 1..<self.heads { for (i, v) in map(layer: l, head: h).enumerated() { out[i] = Swift.max(out[i], v) } }
            return [out]
        }
    }

    private func headLabels(_ heads: Heads) -> [String] {
        switch heads {
        case .all: (0..<self.heads).map { "head \($0)" }
        case .one(let h): ["head \(h)"]
        case .mean: ["mean of heads"]
        case .max: ["max of heads"]
        }
    }

    /// The mean of one layer's heads, [T, T], summed in double precision.
    func meanOfHeads(layer l: Int) -> [Double] {
        var sum = [Double](repeating: 0, count: length * length)
        for h in 0..<heads { for (i, v) in map(layer: l, head: h).enumerated() { sum[i] += Double(v) } }
        return sum.map { $0 / Double(heads) }
    }

    /// Attention rollout (Abnar & Zuidema 2020) through layers 0 ... `last`: each layer's heads
    /// averaged, the identity added (the residual path) and rows renormalised, Ã_l = norm(A_l + I);
    /// R_0 = Ã_0 and R_l = Ã_l · R_{l−1}. Returns R_0 ... R_last, each [T, T] row-major, computed in
    /// double precision.
    public func rollout(through last: Int) -> [[Double]] {
        let T = length
        var result: [[Double]] = []
        var previous: [Double]? = nil
        for l in 0...last {
            var a = meanOfHeads(layer: l)
            for q in 0..<T {
                a[q * T + q] += 1
                let sum = a[(q * T)..<((q + 1) * T)].reduce(0, +)
                for k in 0..<T { a[q * T + k] /= sum }
            }
            guard let r = previous else { previous = a; result.append(a); continue }
            var product = [Double](repeating: 0, count: T * T)
            for q in 0..<T {
                for m in 0..<T where a[q * T + m] != 0 {
                    let weight = a[q * T + m]
                    for k in 0..<T { product[q * T + k] += weight * r[m * T + k] }
                }
            }
            previous = product
            result.append(product)
        }
        return result
    }

    /// Selected maps with what they are.
    public struct Selection: Sendable {
        /// The model layers shown, in order.
        public let layerIndices: [Int]
        /// A label for each map of a layer ("head 3", "mean of heads").
        public let headLabels: [String]
        /// maps[layer position][head position]: [T, T] row-major.
        public let maps: [[[Float]]]
        public let length: Int
        /// Whether the layer and head levels are left out of the nested output.
        public let dropsLayer: Bool
        public let dropsHead: Bool

        /// The shape of the nested output: [layers?, heads?, T, T].
        public var shape: [Int] {
            (dropsLayer ? [] : [layerIndices.count]) + (dropsHead ? [] : [headLabels.count]) + [length, length]
        }

        /// All values in the order of `shape`.
        public var flattened: [Float] { maps.flatMap { $0.flatMap { $0 } } }
    }
}

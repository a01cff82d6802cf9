import Dispatch

/// Measures an engine's matrix-product rate in one precision on the products of the models ckpt runs: the peak
/// that benchmarks divide a model's achieved rate by.
public enum EngineRate {
    /// One product shape: x [rows, inputs] · w [outputs, inputs]ᵀ.
    public struct Shape: Sendable {
        public let model: String, rows: Int, inputs: Int, outputs: Int
        public var flops: Double { 2 * Double(rows * inputs * outputs) }
    }

    /// A layer's projections of MiniLM (C = 384, I = 1536) and GPT-2 124M (C = 768, I = 3072), over
    /// 512 rows (a batch of sentences or a prompt).
    public static let shapes: [Shape] = [
        Shape(model: "MiniLM", rows: 512, inputs: 384, outputs: 1152), Shape(model: "MiniLM", rows: 512, inputs: 384, outputs: 384),
        Shape(model: "MiniLM", rows: 512, inputs: 384, outputs: 1536), Shape(model: "MiniLM", rows: 512, inputs: 1536, outputs: 384),
        Shape(model: "GPT-2", rows: 512, inputs: 768, outputs: 2304), Shape(model: "GPT-2", rows: 512, inputs: 768, outputs: 768),
        Shape(model: "GPT-2", rows: 512, inputs: 768, outputs: 3072), Shape(model: "GPT-2", rows: 512, inputs: 3072, outputs: 768),
    ]

    /// GFLOP/s of each of `count` runs of one model's layer of products (each shape once, run as
    /// ckpt runs them: packed weights, row blocks by panels) on `threads` threads.
    public static func samples(model: String, engine: MatmulEngine, precision: Precision = .f32, threads: Int, count: Int = 20) -> [Double] {
        let layer = shapes.filter { $0.model == model }
        precondition(!layer.isEmpty, "EngineRate: no shapes for \(model)")
        let weights = layer.map { LinearWeight([Float](repeating: 0.01, count: $0.outputs * $0.inputs), outputs: $0.outputs, inputs: $0.inputs,
                                               precision: precision, engine: engine) }
        let x = FloatBuffer(layer.map { $0.rows * $0.inputs }.max()!), y = FloatBuffer(layer.map { $0.rows * $0.outputs }.max()!)
        x.p.update(repeating: 0.5, count: x.count)
        let flops = layer.reduce(0) { $0 + $1.flops }
        func run() { for (shape, weight) in zip(layer, weights) { weight.apply(x.p, rows: shape.rows, bias: nil, into: y.p, threads: threads) } }
        run()  // makes the primitives
        return (0..<count).map { _ in
            let start = DispatchTime.now().uptimeNanoseconds
            run()
            return flops / (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) / 1e9
        }
    }

    /// The best of `samples`: the engine's peak on that model's products.
    public static func peak(model: String, engine: MatmulEngine, precision: Precision = .f32, threads: Int, count: Int = 20) -> Double {
        samples(model: model, engine: engine, precision: precision, threads: threads, count: count).max()!
    }
}

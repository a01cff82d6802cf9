import Kernels
import Transformers

/// A fully connected layer as PyTorch's `nn.Linear` stores it: `weight` [outputs, inputs],
/// `bias` [outputs]; y = x · weightᵀ + bias.
public struct DenseLayer: Sendable, Equatable {
    public let inputs: Int
    public let outputs: Int
    public var weight: [Float]
    public var bias: [Float]

    public init(inputs: Int, outputs: Int, weight: [Float], bias: [Float]) {
        precondition(weight.count == inputs * outputs && bias.count == outputs, "DenseLayer: weight or bias of the wrong size")
        self.inputs = inputs
        self.outputs = outputs
        self.weight = weight
        self.bias = bias
    }

    /// PyTorch's default initialisation: weight and bias uniform in ±1/√inputs.
    init(inputs: Int, outputs: Int, random: inout SeededRandom) {
        let bound = 1 / Float(inputs).squareRoot()
        let uniform = { (random: inout SeededRandom) in (2 * random.nextFloat() - 1) * bound }
        self.init(inputs: inputs, outputs: outputs,
                  weight: (0..<(inputs * outputs)).map { _ in uniform(&random) },
                  bias: (0..<outputs).map { _ in uniform(&random) })
    }

    /// y: [rows, outputs] = x: [rows, inputs] · weightᵀ + bias.
    func forward(_ x: [Float], rows: Int) -> [Float] {
        var y = [Float](repeating: 0, count: rows * outputs)
        guard rows > 0 else { return y }
        x.withUnsafeBufferPointer { x in
            weight.withUnsafeBufferPointer { w in
                bias.withUnsafeBufferPointer { b in
                    y.withUnsafeMutableBufferPointer { y in
                        BLAS.linear(x.baseAddress!, rows: rows, inputs: inputs, weight: w.baseAddress!, outputs: outputs,
                                    bias: b.baseAddress!, into: y.baseAddress!)
                    }
                }
            }
        }
        return y
    }
}

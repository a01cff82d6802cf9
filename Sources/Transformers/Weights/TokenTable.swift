import Kernels
import TensorFormats

/// A token embedding table [vocabulary, width] as a model keeps it: f32, or bf16 bits where the
/// model multiplies in bf16 and the table is also its output matrix (GPT-2's tied `wte`). There the
/// output product needs the table in bf16 anyway, so it is held once, in bf16, rather than a second
/// time in f32; its rows are widened when looked up.
enum TokenTable {
    case f32(Parameter)
    case bf16([UInt16])

    /// Row `id` in f32, into `row` ([width]).
    func copyRow(_ id: Int, width: Int, into row: UnsafeMutablePointer<Float>) {
        switch self {
        case .f32(let table): row.update(from: table.p + id * width, count: width)
        case .bf16(let bits):
            bits.withUnsafeBufferPointer { bits in
                ElementConversion.decode(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bits[(id * width)..<((id + 1) * width)])),
                                         as: .BF16, into: UnsafeMutableBufferPointer(start: row, count: width))
            }
        }
    }

    /// The table packed as the weight of a product to `outputs` (its rows) from `inputs` (its width).
    func linear(outputs: Int, inputs: Int, precision: Precision) -> LinearWeight {
        switch self {
        case .f32(let table): LinearWeight(table, outputs: outputs, inputs: inputs, precision: precision)
        case .bf16(let bits): WeightMatrix.bf16(bits).linear(outputs: outputs, inputs: inputs, precision: precision)
        }
    }
}

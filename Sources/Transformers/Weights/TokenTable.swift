import Kernels
import TensorFormats

/// A token embedding table [vocabulary, width] as a model keeps it (`WeightSource.tokenTable`):
/// bf16 bits for bf16 products and wherever the checkpoint stores the table in BF16, f32
/// otherwise. It is a small model's largest tensor (47 of MiniLM's 91 MB in f32), looked up a row
/// at a time and widened to f32 as it is copied, so bf16 halves its memory at the rounding the
/// products give their operands anyway. An output product that shares the table (GPT-2's tied
/// `wte`, BERT's masked-LM decoder) is packed from it, and the table is then read back from that
/// product's weights where they hold the same values (`shared(with:)`), so it is held once.
enum TokenTable {
    case f32(Parameter)
    case bf16([UInt16])
    /// The rows of the output product packed from the table (its outputs).
    case output(LinearWeight)

    /// Row `id` in f32, into `row` ([width]).
    func copyRow(_ id: Int, width: Int, into row: UnsafeMutablePointer<Float>) {
        switch self {
        case .f32(let table): row.update(from: table.p + id * width, count: width)
        case .bf16(let bits):
            bits.withUnsafeBufferPointer { bits in
                ElementConversion.decode(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bits[(id * width)..<((id + 1) * width)])),
                                         as: .BF16, into: UnsafeMutableBufferPointer(start: row, count: width))
            }
        case .output(let weight): weight.copyWeights(ofOutput: id, into: row)
        }
    }

    /// The table packed as the weight of a product to `outputs` (its rows) from `inputs` (its width).
    func linear(outputs: Int, inputs: Int, precision: Precision) -> LinearWeight {
        switch self {
        case .f32(let table): LinearWeight(table, outputs: outputs, inputs: inputs, precision: precision)
        case .bf16(let bits): WeightMatrix.bf16(bits).linear(outputs: outputs, inputs: inputs, precision: precision)
        case .output(let weight): weight
        }
    }

    /// The table as read from `output`, the product packed from it by `linear`, where that gives
    /// back the same values (f32 and bf16 weights: the table's own values, or its f32 ones rounded
    /// to bf16 as a bf16 table holds them); else the table itself (int8's quantized weights).
    func shared(with output: LinearWeight) -> TokenTable {
        output.weightsReadable ? .output(output) : self
    }
}

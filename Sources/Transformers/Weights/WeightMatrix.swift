import CkptSupport
import Kernels

/// A linear layer's weight [rows, columns] as the model holds it before packing: f32 (wider or
/// narrower floats widened), bf16 bits for bf16 products, or int8 values with a scale per output.
enum WeightMatrix {
    case f32([Float])
    case bf16([UInt16])
    case int8(Int8Weights)

    /// The transpose of a [rows, columns] matrix whose outputs are its columns (GPT-2's Conv1D):
    /// [columns, rows], outputs first.
    func transposed(rows: Int, columns: Int) -> WeightMatrix {
        switch self {
        case .f32(let values): return .f32(CkptSupport.transposed(values, rows: rows, columns: columns))
        case .bf16(let values): return .bf16(CkptSupport.transposed(values, rows: rows, columns: columns))
        case .int8(let weights): return .int8(weights.transposed(inputs: rows))
        }
    }

    /// Matrices stacked by rows (outputs); mixed forms are stacked as f32.
    static func stacking(_ parts: [WeightMatrix]) -> WeightMatrix {
        let int8 = parts.compactMap { if case .int8(let w) = $0 { w } else { nil } }
        if int8.count == parts.count { return .int8(Int8Weights(values: int8.flatMap(\.values), scales: int8.flatMap(\.scales))) }
        let bf16 = parts.compactMap { if case .bf16(let w) = $0 { w } else { nil } }
        if bf16.count == parts.count { return .bf16(bf16.flatMap { $0 }) }
        return .f32(parts.flatMap(\.floats))
    }

    /// The values as f32 (int8 dequantized).
    var floats: [Float] {
        switch self {
        case .f32(let values): return values
        case .bf16(let values): return values.map { Float(bitPattern: UInt32($0) << 16) }
        case .int8(let weights): return weights.dequantized(inputs: weights.values.count / max(1, weights.scales.count))
        }
    }

    /// Packed for products in `precision`.
    func linear(outputs: Int, inputs: Int, precision: Precision) -> LinearWeight {
        switch self {
        case .f32(let values):
            return values.withUnsafeBufferPointer { LinearWeight(.f32($0.baseAddress!), outputs: outputs, inputs: inputs, precision: precision) }
        case .bf16(let values):
            return values.withUnsafeBufferPointer { LinearWeight(.bf16($0.baseAddress!), outputs: outputs, inputs: inputs, precision: precision) }
        case .int8(let weights):
            return LinearWeight(.int8(weights), outputs: outputs, inputs: inputs, precision: precision)
        }
    }
}

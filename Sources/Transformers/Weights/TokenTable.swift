import CKernels
import Kernels
import TensorFormats

/// A token embedding table [vocabulary, width] as a model keeps it (`WeightSource.tokenTable`),
/// looked up a row at a time and widened to f32 as it is copied. It is a small model's largest
/// tensor (47 of MiniLM's 91 MB in f32), so no copy of it is held where one can be avoided: it is
/// read in the checkpoint's own bytes where those are mapped (only the pages of the rows looked up
/// come into memory), or from the tied output product's weights where that product holds the same
/// values (GPT-2's `wte`, BERT's masked-LM decoder). Rows read for bf16 products are rounded to
/// bf16, the rounding the products give their operands; a table stored in BF16 is read as stored
/// in every precision.
enum TokenTable {
    /// The table as its checkpoint holds it, each row rounded to bf16 as it is read where
    /// `roundedToBF16`: the mapped file's pages, or heap data the reader made (inflated, gathered)
    /// that a copy would only duplicate.
    case stored(TensorView, roundedToBF16: Bool)
    /// bf16 bits of a table whose checkpoint bytes are not mapped and not BF16, for bf16 products:
    /// half the memory of the f32 data they replace.
    case bf16([UInt16])
    /// The rows of a tied output product's weights (its outputs).
    case output(LinearWeight)

    /// Rows `ids` in f32, into `rows` ([ids.count, width]). A token met again (padding, [CLS],
    /// common words) is copied from the row it first filled, not read from the table again.
    func copyRows(_ ids: ArraySlice<Int32>, width: Int, into rows: UnsafeMutablePointer<Float>) {
        var first = [Int32: Int](minimumCapacity: ids.count)
        for (n, id) in ids.enumerated() {
            if let earlier = first[id] {
                (rows + n * width).update(from: rows + earlier * width, count: width)
            } else {
                first[id] = n
                copyRow(Int(id), width: width, into: rows + n * width)
            }
        }
    }

    /// Row `id` in f32, into `row` ([width]).
    func copyRow(_ id: Int, width: Int, into row: UnsafeMutablePointer<Float>) {
        let output = UnsafeMutableBufferPointer(start: row, count: width)
        switch self {
        case .stored(let table, let roundedToBF16):
            let size = table.dtype.size, bytes = (id * width * size)..<((id + 1) * width * size)
            if table.dtype == .F32 {
                table.copyBytes(bytes, into: row)
            } else {
                withUnsafeTemporaryAllocation(byteCount: width * size, alignment: 16) { stored in
                    table.copyBytes(bytes, into: stored.baseAddress!)
                    ElementConversion.decode(UnsafeRawBufferPointer(stored), as: table.dtype, into: output)
                }
            }
            // As `ElementConversion.cast` rounds to bf16 bits, which widen back to these values; BF16 is bf16 already.
            if roundedToBF16 && table.dtype != .BF16 { ckpt_round_to_bf16(row, row, Int64(width)) }
        case .bf16(let bits):
            bits.withUnsafeBytes { bits in
                ElementConversion.decode(UnsafeRawBufferPointer(rebasing: bits[(id * width * 2)..<((id + 1) * width * 2)]), as: .BF16, into: output)
            }
        case .output(let weight): weight.copyWeights(ofOutput: id, into: row)
        }
    }
}

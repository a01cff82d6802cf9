import CKernels
import CkptSupport

/// The pointers of one `LinearWeight` product.
struct Operands {
    let x: UnsafePointer<Float>
    let rows: PreparedRows
    let y: UnsafeMutablePointer<Float>
    let bias: UnsafePointer<Float>?
    /// Rows in all.
    let count: Int
}

/// A product's rows of x as its precision multiplies them, converted once for all its pieces.
final class PreparedRows {
    enum Form {
        /// x itself (nil), or rounded to bf16 values (an engine without bf16 products).
        case f32(UnsafePointer<Float>?)
        /// bf16 bits.
        case bf16(UnsafePointer<UInt16>)
        /// Quantized rows: u8 values, the same as f32 values for an engine without int8 products,
        /// and each row's scale and zero point.
        case int8(UnsafePointer<UInt8>, UnsafePointer<Float>?, scales: UnsafePointer<Float>, zeros: UnsafePointer<Int32>)
    }

    private(set) var form: Form = .f32(nil)
    private var owned: [ScratchBlocks.Block] = []

    /// `bits`: the product takes bf16 bits or u8 values, else f32 values (rounded or quantized).
    init(_ x: UnsafePointer<Float>, rows: Int, inputs: Int, precision: Precision, bits: Bool, threads: Int) {
        let count = rows * inputs, blocks = (rows + LinearWeight.rowBlock - 1) / LinearWeight.rowBlock
        // Each block of rows is converted on its own (by rows, so the result does not depend on the split).
        func eachBlock(_ body: @escaping @Sendable (Range<Int>) -> Void) {
            Parallel.forEachIndex(blocks, threads: threads) { block in
                body((block * LinearWeight.rowBlock)..<min(rows, (block + 1) * LinearWeight.rowBlock))
            }
        }
        switch precision {
        case .f32:
            break
        case .bf16:
            if bits {
                let pointers = UncheckedSendable((x, allocate(UInt16.self, count)))
                eachBlock { r in
                    let (x, values) = pointers.value, first = r.lowerBound * inputs
                    ckpt_to_bf16(x + first, values + first, Int64(r.count * inputs))
                }
                form = .bf16(pointers.value.1)
            } else {
                let pointers = UncheckedSendable((x, allocate(Float.self, count)))
                eachBlock { r in
                    let (x, rounded) = pointers.value, first = r.lowerBound * inputs
                    ckpt_round_to_bf16(x + first, rounded + first, Int64(r.count * inputs))
                }
                form = .f32(pointers.value.1)
            }
        case .int8:
            let q = allocate(UInt8.self, count), scales = allocate(Float.self, rows), zeros = allocate(Int32.self, rows)
            let values = bits ? nil : allocate(Float.self, count)
            let pointers = UncheckedSendable((x, q, scales, zeros, values))
            eachBlock { r in
                let (x, q, scales, zeros, values) = pointers.value, first = r.lowerBound * inputs
                ckpt_quantize_rows(x + first, Int64(r.count), Int64(inputs), q + first, scales + r.lowerBound, zeros + r.lowerBound)
                if let values { for i in first..<(first + r.count * inputs) { values[i] = Float(q[i]) } }
            }
            form = .int8(q, values.map { UnsafePointer($0) }, scales: scales, zeros: zeros)
        }
    }

    private func allocate<T>(_ type: T.Type, _ count: Int) -> UnsafeMutablePointer<T> {
        let block = ScratchBlocks.shared.take(count * MemoryLayout<T>.stride)
        owned.append(block)
        return block.pointer.bindMemory(to: T.self, capacity: count)
    }

    deinit { for block in owned { ScratchBlocks.shared.giveBack(block) } }
}

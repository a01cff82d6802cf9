import CKernels
import CkptSupport
/// Conversion of raw little-endian element bytes to and from f32, and casts between float types.
///
/// Sources may be unaligned (tensors inside zip members sit at any offset), so elements are read
/// with unaligned loads.
public enum ElementConversion {
    /// Widens (or, for f64 and 64-bit integers, rounds to nearest) every element of `bytes`,
    /// which holds `output.count` elements of `dtype`, into `output`.
    public static func decode(_ bytes: UnsafeRawBufferPointer, as dtype: DType,
                              into output: UnsafeMutableBufferPointer<Float>) {
        let n = output.count
        precondition(bytes.count >= n * dtype.size, "decode: source holds fewer elements than asked")
        func each<T>(_: T.Type, _ convert: (T) -> Float) {
            for i in 0..<n {
                output[i] = convert(bytes.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self))
            }
        }
        switch dtype {
        case .F32 where n > 0: UnsafeMutableRawPointer(output.baseAddress!).copyMemory(from: bytes.baseAddress!, byteCount: n * 4)
        case .F32: break
        case .F64: each(Double.self) { Float($0) }
        case .F16: each(UInt16.self) { FloatBits.float(fromHalf: UInt16(littleEndian: $0)) }
        case .BF16: each(UInt16.self) { FloatBits.float(fromBFloat16: UInt16(littleEndian: $0)) }
        case .F8_E4M3: each(UInt8.self) { FloatBits.float(fromE4M3: $0) }
        case .F8_E5M2: each(UInt8.self) { FloatBits.float(fromE5M2: $0) }
        case .I64: each(Int64.self) { Float(Int64(littleEndian: $0)) }
        case .I32: each(Int32.self) { Float(Int32(littleEndian: $0)) }
        case .I16: each(Int16.self) { Float(Int16(littleEndian: $0)) }
        case .I8: each(Int8.self) { Float($0) }
        case .U64: each(UInt64.self) { Float(UInt64(littleEndian: $0)) }
        case .U32: each(UInt32.self) { Float(UInt32(littleEndian: $0)) }
        case .U16: each(UInt16.self) { Float(UInt16(littleEndian: $0)) }
        case .U8: each(UInt8.self) { Float($0) }
        case .BOOL: each(UInt8.self) { $0 == 0 ? 0 : 1 }
        }
    }

    /// The float types a tensor can be cast to.
    public static let castTargets: [DType] = [.F64, .F32, .F16, .BF16]

    /// Casts `count` floating-point elements from `source` (of `from`) to `to` (one of
    /// `castTargets`), calling `emit` with successive chunks of the output so that a writer can
    /// stream a large tensor without holding its converted copy. Converts as `cast(_:from:to:count:threads:into:)`.
    public static func cast(_ source: UnsafeRawBufferPointer, from: DType, to: DType, count: Int, threads: Int,
                            emit: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        precondition(from.isFloatingPoint && castTargets.contains(to), "cast: \(from) → \(to) is not a float cast")
        if from == to {
            try emit(UnsafeRawBufferPointer(rebasing: source[0..<count * from.size]))
            return
        }
        // A buffer no larger than the tensor: megabyte ones, freed after each small tensor of a
        // model's load, raised the allocator's thresholds and stayed in the process's memory.
        let chunk = min(Self.chunk, max(1, count))
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk * to.size, alignment: 64)
        defer { out.deallocate() }
        var start = 0
        while start < count {
            let n = min(chunk, count - start)
            cast(UnsafeRawBufferPointer(rebasing: source[start * from.size ..< (start + n) * from.size]), from: from, to: to, count: n,
                 threads: threads, into: out)
            try emit(UnsafeRawBufferPointer(rebasing: out[0..<n * to.size]))
            start += n
        }
    }

    /// Elements converted at a time: the streamed cast's chunks, those of the f32 copy of a source
    /// that is not f32, and those a tensor view reads at a time (`readReleasingPages`).
    static let chunk = 1 << 20

    /// Casts `count` floating-point elements from `source` (of `from`) into `destination` (of
    /// `to`, one of `castTargets`), on `threads` threads.
    ///
    /// f32 → f16 / bf16 round to nearest even (`FloatBits`, vectorised in CKernels); f64 → f16
    /// rounds once, directly, as NumPy does; f64 → bf16 goes through f32, as PyTorch does. Other
    /// sources (and unaligned f32) are widened to f32 a chunk at a time first.
    public static func cast(_ source: UnsafeRawBufferPointer, from: DType, to: DType, count: Int, threads: Int,
                            into destination: UnsafeMutableRawBufferPointer) {
        precondition(from.isFloatingPoint && castTargets.contains(to), "cast: \(from) → \(to) is not a float cast")
        precondition(source.count >= count * from.size && destination.count >= count * to.size, "cast: buffers hold fewer elements than asked")
        guard count > 0 else { return }
        if from == to { return destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[0..<count * from.size])) }
        let alignedF32 = from == .F32 && Int(bitPattern: source.baseAddress) % MemoryLayout<Float>.alignment == 0
        let direct = alignedF32 || (from == .F64 && to == .F16)
        let chunk = direct ? count : min(Self.chunk, count)
        let floats = direct ? nil : UnsafeMutableBufferPointer<Float>.allocate(capacity: chunk)
        defer { floats?.deallocate() }
        var start = 0
        while start < count {
            let n = min(chunk, count - start)
            let input = UncheckedSendable(UnsafeRawBufferPointer(rebasing: source[start * from.size ..< (start + n) * from.size]))
            let scratch = UncheckedSendable(floats), output = UncheckedSendable(UnsafeMutableRawBufferPointer(rebasing: destination[(start * to.size)..<destination.count]))
            Parallel.forEachPart(of: 0..<n, threads: n >= 1 << 16 ? threads : 1) { part in
                let bytes = UnsafeRawBufferPointer(rebasing: input.value[part.lowerBound * from.size ..< part.upperBound * from.size])
                let target = UnsafeMutableRawBufferPointer(rebasing: output.value[part.lowerBound * to.size ..< part.upperBound * to.size])
                if from == .F64 && to == .F16 {
                    for i in 0..<part.count {
                        let value = FloatBits.half(from: bytes.loadUnaligned(fromByteOffset: i * 8, as: Double.self))
                        target.storeBytes(of: value.littleEndian, toByteOffset: i * 2, as: UInt16.self)
                    }
                } else if let scratch = scratch.value {
                    let slice = UnsafeMutableBufferPointer(rebasing: scratch[part])
                    decode(bytes, as: from, into: slice)
                    encode(UnsafeBufferPointer(slice), as: to, into: target)
                } else {
                    encode(bytes.assumingMemoryBound(to: Float.self), as: to, into: target)
                }
            }
            start += n
        }
    }

    /// Narrows (or widens, for f64) `values` into `output` as `dtype`, one of `castTargets`.
    static func encode(_ values: UnsafeBufferPointer<Float>, as dtype: DType,
                       into output: UnsafeMutableRawBufferPointer) {
        switch dtype {
        case .F32:
            for (i, v) in values.enumerated() { output.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: i * 4, as: UInt32.self) }
        case .F64:
            for (i, v) in values.enumerated() { output.storeBytes(of: Double(v).bitPattern.littleEndian, toByteOffset: i * 8, as: UInt64.self) }
        case .F16 where !values.isEmpty:
            ckpt_to_f16(values.baseAddress!, output.baseAddress!.assumingMemoryBound(to: UInt16.self), Int64(values.count))
        case .BF16 where !values.isEmpty:
            ckpt_to_bf16(values.baseAddress!, output.baseAddress!.assumingMemoryBound(to: UInt16.self), Int64(values.count))
        case .F16, .BF16:
            break
        default:
            preconditionFailure("encode: \(dtype) is not a cast target")
        }
    }
}

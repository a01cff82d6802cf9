import CKernels
import CZlib

/// CRC-32 (the zip and PNG polynomial, as Python's `zlib.crc32`).
public enum CRC32 {
    private static let foldAvailable = ckpt_crc32_fold_available() != 0

    /// zlib's CRC-32 of `bytes`, continuing `crc`: whole 16-byte blocks by carry-less
    /// multiplication where the CPU has it (`ckpt_crc32_fold`, ~10× zlib's table), the rest by zlib.
    public static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        let folded = foldAvailable && bytes.count >= 64 ? bytes.count & ~15 : 0
        let crc = folded == 0 ? crc : ckpt_crc32_fold(crc, bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), Int64(folded))
        return zlibUpdate(crc, UnsafeRawBufferPointer(rebasing: bytes[folded...]))
    }

    private static func zlibUpdate(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc = UInt(crc)
        var offset = 0
        while offset < bytes.count {
            // zlib takes a 32-bit length: feed large buffers in pieces.
            let n = min(bytes.count - offset, 1 << 30)
            crc = CZlib.crc32(crc, bytes.baseAddress!.advanced(by: offset).assumingMemoryBound(to: Bytef.self), uInt(n))
            offset += n
        }
        return UInt32(truncatingIfNeeded: crc)
    }

    public static func of(_ bytes: UnsafeRawBufferPointer) -> UInt32 { update(0, bytes) }
}

/// A raw-deflate (zip method 8) decompressor that fills caller-provided buffers piece by piece.
final class Inflater {
    private var stream = z_stream()
    private var remaining: UnsafeRawBufferPointer
    private(set) var finished = false
    private(set) var produced: UInt64 = 0
    private(set) var crc: UInt32 = 0

    /// Starts inflating `compressed`. Throws a description of zlib's refusal.
    init(_ compressed: UnsafeRawBufferPointer) throws {
        remaining = compressed
        let status = inflateInit2_(&stream, -MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { throw InflateFailure(reason: "zlib could not start (status \(status))") }
    }

    deinit { inflateEnd(&stream) }

    /// Fills as much of `output` as the stream allows; returns the bytes written. Fewer than
    /// `output.count` means the stream ended (`finished`).
    func read(into output: UnsafeMutableRawBufferPointer) throws -> Int {
        var filled = 0
        while filled < output.count && !finished {
            let inChunk = min(remaining.count, Int(UInt32.max))
            let outChunk = min(output.count - filled, Int(UInt32.max))
            stream.next_in = UnsafeMutablePointer(mutating: remaining.baseAddress?.assumingMemoryBound(to: Bytef.self))
            stream.avail_in = uInt(inChunk)
            stream.next_out = output.baseAddress!.advanced(by: filled).assumingMemoryBound(to: Bytef.self)
            stream.avail_out = uInt(outChunk)
            let status = inflate(&stream, Z_NO_FLUSH)
            let consumed = inChunk - Int(stream.avail_in)
            let written = outChunk - Int(stream.avail_out)
            remaining = UnsafeRawBufferPointer(rebasing: remaining[consumed...])
            crc = CRC32.update(crc, UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(output)[filled..<(filled + written)]))
            filled += written
            produced += UInt64(written)
            switch status {
            case Z_STREAM_END: finished = true
            case Z_OK: continue
            case Z_BUF_ERROR where remaining.isEmpty:
                throw InflateFailure(reason: "the stream ends before its last block (truncated)")
            case Z_BUF_ERROR: continue
            default:
                let message = stream.msg.map { String(cString: $0) } ?? "status \(status)"
                throw InflateFailure(reason: message)
            }
        }
        return filled
    }
}

struct InflateFailure: Error {
    let reason: String
}

/// A raw-deflate compressor at zlib's default level (6, as Python's zipfile uses), streaming its
/// output to a sink.
final class Deflater {
    private var stream = z_stream()
    private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 18, alignment: 16)
    private(set) var crc: UInt32 = 0
    private(set) var consumed: UInt64 = 0
    private(set) var emitted: UInt64 = 0

    init() {
        let status = deflateInit2_(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY,
                                   ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK, "deflateInit2 failed with status \(status)")
    }

    deinit {
        deflateEnd(&stream)
        scratch.deallocate()
    }

    /// Compresses `input`, handing finished compressed bytes to `sink`.
    func compress(_ input: UnsafeRawBufferPointer, sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        crc = CRC32.update(crc, input)
        consumed += UInt64(input.count)
        var offset = 0
        while offset < input.count {
            let n = min(input.count - offset, 1 << 30)
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.advanced(by: offset).assumingMemoryBound(to: Bytef.self))
            stream.avail_in = uInt(n)
            try drain(flush: Z_NO_FLUSH, sink: sink)
            offset += n
        }
    }

    /// Ends the stream, handing the last compressed bytes to `sink`.
    func finish(sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        stream.next_in = nil
        stream.avail_in = 0
        try drain(flush: Z_FINISH, sink: sink)
    }

    private func drain(flush: Int32, sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        repeat {
            stream.next_out = scratch.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.avail_out = uInt(scratch.count)
            let status = deflate(&stream, flush)
            precondition(status != Z_STREAM_ERROR, "deflate stream error")
            let n = scratch.count - Int(stream.avail_out)
            if n > 0 {
                emitted += UInt64(n)
                try sink(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(scratch)[0..<n]))
            }
            if flush == Z_FINISH && status == Z_STREAM_END { return }
        } while stream.avail_out == 0 || flush == Z_FINISH
    }
}

/// Whole-buffer gzip decompression (RFC 1952), for compressed fixture and data files.
public enum Gzip {
    /// The decompressed bytes of a gzip stream; throws a description of zlib's refusal.
    public static func decompress(_ compressed: UnsafeRawBufferPointer) throws -> [UInt8] {
        var stream = z_stream()
        // windowBits 15 + 16 selects the gzip wrapper.
        guard inflateInit2_(&stream, MAX_WBITS + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw GzipError(reason: "zlib could not start")
        }
        defer { inflateEnd(&stream) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        stream.next_in = UnsafeMutablePointer(mutating: compressed.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(compressed.count)
        while true {
            let status = chunk.withUnsafeMutableBytes { buffer -> Int32 in
                stream.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(buffer.count)
                return inflate(&stream, Z_NO_FLUSH)
            }
            out.append(contentsOf: chunk[0..<(chunk.count - Int(stream.avail_out))])
            if status == Z_STREAM_END { return out }
            guard status == Z_OK else { throw GzipError(reason: stream.msg.map { String(cString: $0) } ?? "truncated stream") }
        }
    }
}

public struct GzipError: Error, CustomStringConvertible, Sendable {
    public let reason: String
    public var description: String { "gzip data is damaged: \(reason)" }
}

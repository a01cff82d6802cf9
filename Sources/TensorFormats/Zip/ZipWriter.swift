#if canImport(Glibc)
import CkptSupport
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a zip archive member by member into an output file, the way Python's `zipfile` does for
/// `np.savez`: every local header carries a zip64 extra field (sizes are patched in once the
/// member is written), and zip64 central-directory fields and end records appear when a size,
/// an offset or the member count needs them.
final class ZipWriter {
    private struct Entry {
        var name: [UInt8]
        var flags: UInt16
        var method: UInt16
        var crc: UInt32
        var compressedSize: UInt64
        var uncompressedSize: UInt64
        var localOffset: UInt64
    }

    private let output: AtomicOutputFile
    private var entries: [Entry] = []
    private let dosTime: UInt16
    private let dosDate: UInt16
    /// Values at or above this go into zip64 fields (lowered in tests to exercise zip64 on small files).
    private let zip64Threshold: UInt64

    init(output: AtomicOutputFile, zip64Threshold: UInt64 = 0xFFFF_FFFF) {
        self.output = output
        self.zip64Threshold = zip64Threshold
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        dosTime = UInt16(parts.tm_hour << 11 | parts.tm_min << 5 | parts.tm_sec / 2)
        dosDate = UInt16(max(0, Int(parts.tm_year) - 80) << 9 | Int(parts.tm_mon + 1) << 5 | Int(parts.tm_mday))
    }

    /// Adds a member named `name` whose content `produce` streams (stored or deflated).
    func addMember(name: String, deflate: Bool,
                   produce: (_ emit: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        let nameBytes = Array(name.utf8)
        let flags: UInt16 = ZipName.needsUTF8Flag(name) ? 0x800 : 0
        let method = deflate ? ZipMember.deflated : ZipMember.stored
        let localOffset = UInt64(output.offset)
        var header = ByteWriter()
        header.u32(0x0403_4B50)
        header.u16(45)  // version needed: zip64
        header.u16(flags)
        header.u16(method)
        header.u16(dosTime)
        header.u16(dosDate)
        header.u32(0)  // CRC-32, patched below
        header.u32(0xFFFF_FFFF)
        header.u32(0xFFFF_FFFF)
        header.u16(UInt16(nameBytes.count))
        header.u16(20)
        header.bytes += nameBytes
        header.u16(1)
        header.u16(16)
        header.u64(0)  // uncompressed size, patched below
        header.u64(0)  // compressed size, patched below
        try output.write(header.bytes)

        var crc: UInt32 = 0
        var uncompressed: UInt64 = 0
        let compressed: UInt64
        if deflate {
            let deflater = Deflater()
            try produce { chunk in try deflater.compress(chunk) { try output.write($0) } }
            try deflater.finish { try output.write($0) }
            crc = deflater.crc
            uncompressed = deflater.consumed
            compressed = deflater.emitted
        } else {
            try produce { chunk in
                crc = CRC32.update(crc, chunk)
                uncompressed += UInt64(chunk.count)
                try output.write(chunk)
            }
            compressed = uncompressed
        }
        var crcBytes = ByteWriter()
        crcBytes.u32(crc)
        try output.overwrite(crcBytes.bytes, at: Int(localOffset) + 14)
        var sizes = ByteWriter()
        sizes.u64(uncompressed)
        sizes.u64(compressed)
        try output.overwrite(sizes.bytes, at: Int(localOffset) + 30 + nameBytes.count + 4)
        entries.append(Entry(name: nameBytes, flags: flags, method: method, crc: crc, compressedSize: compressed,
                             uncompressedSize: uncompressed, localOffset: localOffset))
    }

    /// Writes the central directory and end records. The archive is complete after this.
    func finish() throws {
        let directoryOffset = UInt64(output.offset)
        var directory = ByteWriter()
        for entry in entries {
            var zip64: [UInt64] = []
            let bigSizes = entry.uncompressedSize >= zip64Threshold || entry.compressedSize >= zip64Threshold
            if bigSizes { zip64 += [entry.uncompressedSize, entry.compressedSize] }
            let bigOffset = entry.localOffset >= zip64Threshold
            if bigOffset { zip64.append(entry.localOffset) }
            directory.u32(0x0201_4B50)
            directory.u16(3 << 8 | 45)  // made by: Unix, zip 4.5
            directory.u16(45)
            directory.u16(entry.flags)
            directory.u16(entry.method)
            directory.u16(dosTime)
            directory.u16(dosDate)
            directory.u32(entry.crc)
            directory.u32(bigSizes ? 0xFFFF_FFFF : UInt32(entry.compressedSize))
            directory.u32(bigSizes ? 0xFFFF_FFFF : UInt32(entry.uncompressedSize))
            directory.u16(UInt16(entry.name.count))
            directory.u16(zip64.isEmpty ? 0 : UInt16(4 + 8 * zip64.count))
            directory.u16(0)  // comment
            directory.u16(0)  // disk
            directory.u16(0)  // internal attributes
            directory.u32(0o600 << 16)  // external attributes: rw------- as zipfile sets
            directory.u32(bigOffset ? 0xFFFF_FFFF : UInt32(entry.localOffset))
            directory.bytes += entry.name
            if !zip64.isEmpty {
                directory.u16(1)
                directory.u16(UInt16(8 * zip64.count))
                zip64.forEach { directory.u64($0) }
            }
        }
        let directorySize = UInt64(directory.bytes.count)
        let count = UInt64(entries.count)
        var end = ByteWriter()
        let needsZip64 = count >= 0xFFFF || directorySize >= zip64Threshold || directoryOffset >= zip64Threshold
        if needsZip64 {
            let recordOffset = directoryOffset + directorySize
            end.u32(0x0606_4B50)
            end.u64(44)  // size of the rest of this record
            end.u16(3 << 8 | 45)
            end.u16(45)
            end.u32(0)
            end.u32(0)
            end.u64(count)
            end.u64(count)
            end.u64(directorySize)
            end.u64(directoryOffset)
            end.u32(0x0706_4B50)
            end.u32(0)
            end.u64(recordOffset)
            end.u32(1)
        }
        end.u32(0x0605_4B50)
        end.u16(0)
        end.u16(0)
        end.u16(UInt16(min(count, 0xFFFF)))
        end.u16(UInt16(min(count, 0xFFFF)))
        end.u32(UInt32(min(directorySize, 0xFFFF_FFFF)))
        end.u32(needsZip64 ? 0xFFFF_FFFF : UInt32(directoryOffset))
        end.u16(0)
        try output.write(directory.bytes + end.bytes)
    }
}

/// Little-endian field serialisation for binary headers.
struct ByteWriter {
    var bytes: [UInt8] = []
    mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
}

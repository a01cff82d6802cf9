/// One member of a zip archive, as its central directory entry describes it, with the position
/// of its data found through its local header.
struct ZipMember {
    var name: String
    var method: UInt16
    var crc: UInt32
    var compressedSize: UInt64
    var uncompressedSize: UInt64
    /// Offset of the member's (compressed) data in the file.
    var dataOffset: Int

    static let stored: UInt16 = 0
    static let deflated: UInt16 = 8
}

/// Reads the member list of a zip archive held in memory (zip64 included), checking every
/// offset and size against the file before use.
struct ZipArchive {
    var members: [ZipMember]

    private static let endSignature: UInt32 = 0x0605_4B50
    private static let zip64LocatorSignature: UInt32 = 0x0706_4B50
    private static let zip64EndSignature: UInt32 = 0x0606_4B50
    private static let centralSignature: UInt32 = 0x0201_4B50
    private static let localSignature: UInt32 = 0x0403_4B50
    /// Deflate's maximum expansion is about 1032:1; a member claiming more is lying.
    static let maxDeflateRatio: UInt64 = 1032

    init(_ bytes: UnsafeRawBufferPointer) throws {
        let data = LittleEndianBytes(bytes)
        guard let end = Self.findEndRecord(data) else { throw ZipError.noEndRecord }
        guard data.u16(end + 4) == 0, data.u16(end + 6) == 0 else { throw ZipError.multiDisk }
        var entryCount = UInt64(data.u16(end + 10)!)
        var directorySize = UInt64(data.u32(end + 12)!)
        var directoryOffset = UInt64(data.u32(end + 16)!)
        // Where the central directory must end: at the (zip64) end record.
        var directoryLimit = end

        if end >= 20, data.u32(end - 20) == Self.zip64LocatorSignature {
            let locator = end - 20
            guard let recordOffset = data.u64(locator + 8), data.u32(locator + 4) == 0, data.u32(locator + 16).map({ $0 <= 1 }) == true else {
                throw ZipError.badZip64Locator
            }
            guard recordOffset <= UInt64(locator), let record = Int(exactly: recordOffset),
                  data.u32(record) == Self.zip64EndSignature, record + 56 <= locator,
                  let count = data.u64(record + 32), let size = data.u64(record + 40), let offset = data.u64(record + 48) else {
                throw ZipError.badZip64Record(offset: recordOffset)
            }
            guard data.u32(record + 16) == 0, data.u32(record + 20) == 0 else { throw ZipError.multiDisk }
            entryCount = count
            directorySize = size
            directoryOffset = offset
            directoryLimit = record
        }
        guard directoryOffset <= UInt64(directoryLimit), directorySize <= UInt64(directoryLimit) - directoryOffset else {
            throw ZipError.centralDirectoryOutOfRange(offset: directoryOffset, size: directorySize, fileSize: bytes.count)
        }
        let directoryStart = Int(directoryOffset)
        let directoryEnd = directoryStart + Int(directorySize)

        var members: [ZipMember] = []
        var names = Set<String>()
        var position = directoryStart
        members.reserveCapacity(Int(min(entryCount, directorySize / 46)))
        while position < directoryEnd {
            guard data.u32(position) == Self.centralSignature else { throw ZipError.badCentralHeader(offset: position) }
            guard position + 46 <= directoryEnd else { throw ZipError.truncatedEntry(offset: position) }
            let member = try Self.member(at: position, data, directoryStart: directoryStart, next: &position, directoryEnd: directoryEnd)
            guard names.insert(member.name).inserted else { throw ZipError.duplicateMember(member.name) }
            members.append(member)
        }
        guard UInt64(members.count) == entryCount else { throw ZipError.entryCountMismatch(declared: entryCount, found: members.count) }
        self.members = members
    }

    /// The end-of-central-directory record: the last signature in the final 64 KiB + 22 bytes
    /// whose comment fits in the file.
    private static func findEndRecord(_ data: LittleEndianBytes) -> Int? {
        guard data.count >= 22 else { return nil }
        var position = data.count - 22
        let lowest = max(0, data.count - 22 - 65535)
        while position >= lowest {
            if data.u32(position) == endSignature, let commentLength = data.u16(position + 20),
               position + 22 + Int(commentLength) <= data.count {
                return position
            }
            position -= 1
        }
        return nil
    }

    private static func member(at entry: Int, _ data: LittleEndianBytes, directoryStart: Int,
                               next: inout Int, directoryEnd: Int) throws -> ZipMember {
        let flags = data.u16(entry + 8)!
        let method = data.u16(entry + 10)!
        let crc = data.u32(entry + 16)!
        var compressed = UInt64(data.u32(entry + 20)!)
        var uncompressed = UInt64(data.u32(entry + 24)!)
        let nameLength = Int(data.u16(entry + 28)!)
        let extraLength = Int(data.u16(entry + 30)!)
        let commentLength = Int(data.u16(entry + 32)!)
        var localOffset = UInt64(data.u32(entry + 42)!)
        let nameStart = entry + 46
        let extraStart = nameStart + nameLength
        next = extraStart + extraLength + commentLength
        guard next <= directoryEnd else { throw ZipError.truncatedEntry(offset: entry) }
        guard let name = ZipName.decode(data.slice(nameStart, nameLength)!, utf8Flag: flags & 0x800 != 0) else {
            throw ZipError.nameNotUTF8(offset: nameStart)
        }

        // Zip64 extra field (id 1): 8-byte values for exactly the fields saturated at 0xFFFFFFFF.
        if compressed == 0xFFFF_FFFF || uncompressed == 0xFFFF_FFFF || localOffset == 0xFFFF_FFFF {
            guard let field = findExtra(id: 1, in: data, from: extraStart, length: extraLength) else {
                throw ZipError.badZip64Extra(member: name)
            }
            var cursor = field.lowerBound
            func take() throws -> UInt64 {
                guard cursor + 8 <= field.upperBound, let value = data.u64(cursor) else { throw ZipError.badZip64Extra(member: name) }
                cursor += 8
                return value
            }
            if uncompressed == 0xFFFF_FFFF { uncompressed = try take() }
            if compressed == 0xFFFF_FFFF { compressed = try take() }
            if localOffset == 0xFFFF_FFFF { localOffset = try take() }
        }

        guard flags & 0x1 == 0 else { throw ZipError.encrypted(member: name) }
        guard method == ZipMember.stored || method == ZipMember.deflated else {
            throw ZipError.unsupportedMethod(member: name, method: method)
        }
        if method == ZipMember.stored && compressed != uncompressed {
            throw ZipError.storedSizeMismatch(member: name, compressed: compressed, uncompressed: uncompressed)
        }
        if method == ZipMember.deflated && uncompressed > compressed.multipliedReportingOverflow(by: maxDeflateRatio).partialValue + 64 {
            throw ZipError.implausibleSize(member: name, compressed: compressed, uncompressed: uncompressed)
        }

        // The local header repeats the name; its extra field may differ in length from the central one.
        guard localOffset < UInt64(directoryStart), let local = Int(exactly: localOffset),
              data.u32(local) == localSignature, local + 30 <= directoryStart else {
            throw ZipError.badLocalHeader(member: name, offset: Int(clamping: localOffset))
        }
        let localNameLength = Int(data.u16(local + 26)!)
        let localExtraLength = Int(data.u16(local + 28)!)
        let dataOffset = local + 30 + localNameLength + localExtraLength
        guard dataOffset <= directoryStart else { throw ZipError.dataOutOfRange(member: name) }
        let localNameBytes = data.slice(local + 30, localNameLength)!
        if !localNameBytes.elementsEqual(data.slice(nameStart, nameLength)!) {
            throw ZipError.nameMismatch(member: name, local: String(decoding: localNameBytes, as: UTF8.self))
        }
        guard compressed <= UInt64(directoryStart - dataOffset) else { throw ZipError.dataOutOfRange(member: name) }
        return ZipMember(name: name, method: method, crc: crc, compressedSize: compressed,
                         uncompressedSize: uncompressed, dataOffset: dataOffset)
    }

    /// The byte range of the extra-field block with `id`, if present and within bounds.
    private static func findExtra(id: UInt16, in data: LittleEndianBytes, from start: Int, length: Int) -> Range<Int>? {
        var position = start
        while position + 4 <= start + length {
            let fieldID = data.u16(position)!
            let size = Int(data.u16(position + 2)!)
            let body = position + 4
            guard body + size <= start + length else { return nil }
            if fieldID == id { return body..<(body + size) }
            position = body + size
        }
        return nil
    }
}

/// Bounds-checked little-endian reads: every read of an out-of-range offset returns nil.
struct LittleEndianBytes {
    let bytes: UnsafeRawBufferPointer
    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }
    var count: Int { bytes.count }

    func u16(_ offset: Int) -> UInt16? {
        guard offset >= 0, offset <= count - 2 else { return nil }
        return UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }
    func u32(_ offset: Int) -> UInt32? {
        guard offset >= 0, offset <= count - 4 else { return nil }
        return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
    func u64(_ offset: Int) -> UInt64? {
        guard offset >= 0, offset <= count - 8 else { return nil }
        return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
    func slice(_ offset: Int, _ length: Int) -> UnsafeRawBufferPointer? {
        guard offset >= 0, length >= 0, offset <= count - length else { return nil }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)])
    }
}

/// Member names: UTF-8 when flag bit 11 is set, else code page 437, as Python's zipfile reads them.
enum ZipName {
    static func decode(_ bytes: UnsafeRawBufferPointer, utf8Flag: Bool) -> String? {
        if utf8Flag { return String(validating: bytes, as: UTF8.self) }
        if bytes.allSatisfy({ $0 < 0x80 }) { return String(decoding: bytes, as: UTF8.self) }
        return String(String.UnicodeScalarView(bytes.map { $0 < 0x80 ? Unicode.Scalar($0) : cp437High[Int($0) - 0x80] }))
    }

    /// Whether `name` needs the UTF-8 flag when written (Python sets it for any non-ASCII name).
    static func needsUTF8Flag(_ name: String) -> Bool { name.utf8.contains { $0 >= 0x80 } }

    private static let cp437High: [Unicode.Scalar] = Array(
        "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u{A0}".unicodeScalars)
}

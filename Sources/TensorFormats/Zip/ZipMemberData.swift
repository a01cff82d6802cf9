extension FileBytes {
    /// The uncompressed bytes of `member`, CRC-32 checked: a view into the file for a stored
    /// member, a heap copy for a deflated one (which must inflate to exactly its declared size).
    /// With `zeroCRCMeansUnset`, a declared CRC of 0 is not checked: torch.save with
    /// `compute_crc32 = False` writes 0 for every member, and torch.load reads such files.
    /// Throws `ZipError`.
    func contents(of member: ZipMember, zeroCRCMeansUnset: Bool = false) throws -> (bytes: UnsafeRawBufferPointer, owner: AnyObject) {
        let stored = self[member.dataOffset..<(member.dataOffset + Int(member.compressedSize))]
        let verify = !(zeroCRCMeansUnset && member.crc == 0)
        if member.method == ZipMember.stored {
            guard verify else { return (stored, owner) }
            let crc = checksum(stored, at: member.dataOffset)
            guard crc == member.crc else { throw ZipError.crcMismatch(member: member.name, declared: member.crc, actual: crc) }
            return (stored, owner)
        }
        // The declared size is bounded by deflate's ratio times bytes present in the file (checked
        // when the directory was read), so this allocation is too.
        let data = OwnedBytes(count: Int(member.uncompressedSize))
        let inflater = try member.inflating { try Inflater(stored) }
        let got = try member.inflating { try inflater.read(into: data.buffer) }
        // The stream must end exactly here: one more byte means the declared size was a lie.
        var extra: UInt8 = 0
        let beyond = try withUnsafeMutableBytes(of: &extra) { buffer in try member.inflating { try inflater.read(into: buffer) } }
        guard got == data.buffer.count, beyond == 0, inflater.finished else {
            throw ZipError.sizeMismatch(member: member.name, declared: member.uncompressedSize, actual: inflater.produced)
        }
        guard !verify || inflater.crc == member.crc else { throw ZipError.crcMismatch(member: member.name, declared: member.crc, actual: inflater.crc) }
        return (UnsafeRawBufferPointer(data.buffer), data)
    }

    /// The bytes of a stored member whose CRC is to be checked, unchecked, with the check for the
    /// caller to run around `range` of them (see `DeferredChecksum`); nil for a deflated member or
    /// one whose CRC is not checked (`contents(of:)` applies).
    func uncheckedContents(of member: ZipMember, covering range: Range<Int>, zeroCRCMeansUnset: Bool = false, file: String)
        -> (bytes: UnsafeRawBufferPointer, check: DeferredChecksum)? {
        guard member.method == ZipMember.stored, !(zeroCRCMeansUnset && member.crc == 0) else { return nil }
        let stored = self[member.dataOffset..<(member.dataOffset + Int(member.compressedSize))]
        let check = DeferredChecksum(before: UnsafeRawBufferPointer(rebasing: stored[..<range.lowerBound]),
                                     after: UnsafeRawBufferPointer(rebasing: stored[range.upperBound...]),
                                     expected: member.crc, member: member.name, file: file)
        return (stored, check)
    }

    /// CRC-32 of stored data (at `offset` in the file), a chunk at a time; pages of a mapped file
    /// are released as the check passes over them, so verifying a large member does not hold it
    /// all in memory.
    private func checksum(_ data: UnsafeRawBufferPointer, at offset: Int) -> UInt32 {
        var crc: UInt32 = 0
        var start = 0
        while start < data.count {
            let end = min(data.count, start + Converter.chunkSize)
            crc = CRC32.update(crc, UnsafeRawBufferPointer(rebasing: data[start..<end]))
            releasePages((offset + start)..<(offset + end))
            start = end
        }
        return crc
    }
}

extension ZipMember {
    /// Runs `body`, turning zlib's refusal into the zip error naming this member.
    func inflating<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let failure as InflateFailure {
            throw ZipError.badDeflateStream(member: name, reason: failure.reason)
        }
    }
}

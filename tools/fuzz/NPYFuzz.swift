@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNPY(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    withFuzzInput(data, size) { bytes, owner in
        let header = try attributing(to: "fuzz") { try NPYHeader(bytes) }
        guard bytes.count - header.headerSize == header.dataSize else { return }
        _ = NPYData.view(name: "a", header: header, data: UnsafeRawBufferPointer(rebasing: bytes[header.headerSize...]), owner: owner).floats()
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGGUF(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    withFuzzInput(data, size) { bytes, owner in try readAll(GGUFFile(path: "fuzz", storage: FileBytes(bytes: bytes, owner: owner))) }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    withFuzzInput(data, size) { bytes, owner in try readAll(SafeTensorsFile(path: "fuzz", storage: FileBytes(bytes: bytes, owner: owner))) }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPyTorch(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    withFuzzInput(data, size) { bytes, owner in try readAll(PyTorchFile(path: "fuzz", storage: FileBytes(bytes: bytes, owner: owner))) }
    return 0
}

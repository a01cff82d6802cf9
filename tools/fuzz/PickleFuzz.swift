/// The restricted pickle machine on raw `data.pkl` bytes: every storage a persistent id names
/// exists with the size it claims (up to 1 MiB), so that tensors are built, their geometry
/// checked, and each one gathered from a zero-filled storage as PyTorchFile does.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPickle(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    withFuzzInput(data, size) { bytes, _ in
        try attributing(to: "fuzz") {
            let host = TorchPickleHost { _, claimed in claimed <= 1 << 20 ? UInt64(claimed) : nil }
            var machine = PickleMachine(bytes, host: host)
            let root = try machine.run()
            for (_, tensor) in try TorchStateDict.tensors(in: root, heap: machine.heap) {
                let elementSize = tensor.storage.dtype.size
                let storage = OwnedBytes(count: tensor.storage.count * elementSize)
                storage.buffer.initializeMemory(as: UInt8.self, repeating: 0)
                let output = OwnedBytes(count: (Shape.elementCount(tensor.shape) ?? 0) * elementSize)
                StridedCopy.gather(from: UnsafeRawBufferPointer(storage.buffer), into: output.buffer, offset: tensor.offset,
                                   shape: tensor.shape, strides: tensor.strides, elementSize: elementSize)
            }
        }
    }
    return 0
}

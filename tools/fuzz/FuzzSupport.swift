// Shared by the fuzz entry points: copies libFuzzer's input into memory a reader can keep.

func withFuzzInput(_ data: UnsafePointer<UInt8>, _ size: Int, _ body: (UnsafeRawBufferPointer, AnyObject) throws -> Void) {
    let storage = OwnedBytes(count: size)
    if size > 0 { storage.buffer.copyMemory(from: UnsafeRawBufferPointer(start: data, count: size)) }
    do {
        try body(UnsafeRawBufferPointer(storage.buffer), storage)
    } catch is FormatError {
        // Refusing bad input with a FormatError is the expected outcome.
    } catch {
        fatalError("unexpected error type: \(error)")
    }
}

/// Reads every tensor the reader lists, widening each to f32 (touches every byte it claims), both
/// checked up front and as a converter streams it (its CRC summed during the pass).
func readAll(_ reader: any TensorReader) throws {
    for info in reader.tensors {
        // Streamed first: its bytes are handed over before any CRC check, so every input reaches them.
        let (streamed, check) = try reader.tensorForStreaming(named: info.name)
        precondition(streamed.bytes.count == info.byteCount)
        _ = streamed.floats()
        check?.update(streamed.bytes)
        try check?.finish()
        let view = try reader.tensor(named: info.name)
        precondition(view.bytes.count == info.byteCount)
        _ = view.floats()
    }
}

/// Finds the state dict in what `data.pkl` holds and checks each tensor's geometry.
enum TorchStateDict {
    /// Keys under which training scripts nest a state dict (`{"model": sd, "epoch": 3}`), in the
    /// order they are tried.
    static let nestingKeys = ["state_dict", "model_state_dict", "model", "module"]
    /// How deep nested state dicts are looked for; also what stops a dict that contains itself.
    static let maxNesting = 4

    /// The named tensors of the state dict in `root`: `root` itself if it is a dict holding
    /// tensors, else the first dict under a nesting key that does (searched to `maxNesting`).
    /// Entries whose key is not a string or whose value is not a tensor are skipped; a repeated
    /// key keeps its first position and its last value, as a Python dict does.
    static func tensors(in root: PickleValue, heap: PickleHeap) throws -> [(name: String, tensor: TorchTensor)] {
        guard let found = search(root, heap: heap, depth: 0) else {
            throw PyTorchError.noStateDict(found: describe(root, heap: heap))
        }
        for (name, tensor) in found { try check(tensor, name: name) }
        return found
    }

    private static func search(_ value: PickleValue, heap: PickleHeap, depth: Int) -> [(name: String, tensor: TorchTensor)]? {
        guard depth < maxNesting, let entries = heap.dict(value) else { return nil }
        let named = namedTensors(entries, heap: heap)
        if !named.isEmpty { return named }
        let byKey = stringKeyed(entries)
        for key in nestingKeys {
            if let nested = byKey[key], let found = search(nested, heap: heap, depth: depth + 1) { return found }
        }
        return nil
    }

    private static func namedTensors(_ entries: [(key: PickleValue, value: PickleValue)], heap: PickleHeap) -> [(name: String, tensor: TorchTensor)] {
        var result: [(name: String, tensor: TorchTensor)] = []
        var position: [String: Int] = [:]
        for (key, value) in entries {
            guard case .string(let name) = key, let tensor = heap.host(value, as: TorchTensor.self) else { continue }
            if let index = position[name] {
                result[index].tensor = tensor
            } else {
                position[name] = result.count
                result.append((name, tensor))
            }
        }
        return result
    }

    private static func stringKeyed(_ entries: [(key: PickleValue, value: PickleValue)]) -> [String: PickleValue] {
        var table: [String: PickleValue] = [:]
        for (key, value) in entries {
            if case .string(let name) = key { table[name] = value }
        }
        return table
    }

    /// "a dict with keys epoch, optimizer", "a list", … for the error when nothing is found.
    private static func describe(_ root: PickleValue, heap: PickleHeap) -> String {
        guard let entries = heap.dict(root) else { return root.kind(in: heap) }
        let keys = entries.compactMap { entry -> String? in
            if case .string(let name) = entry.key { return name }
            return nil
        }
        if keys.isEmpty { return "a dict without string keys" }
        let shown = keys.prefix(8).joined(separator: ", ") + (keys.count > 8 ? ", …" : "")
        return "a dict with keys \(shown)"
    }

    /// The tensor must lie inside its storage and must not hold more elements than the storage
    /// does (an expanded view would be materialised, so a tiny file could ask for any amount of
    /// memory). Every sum and product is overflow-checked.
    private static func check(_ tensor: TorchTensor, name: String) throws {
        let problem: String? = {
            guard tensor.shape.count == tensor.strides.count else {
                return "has \(tensor.shape.count) sizes but \(tensor.strides.count) strides"
            }
            guard tensor.offset >= 0, tensor.shape.allSatisfy({ $0 >= 0 }), tensor.strides.allSatisfy({ $0 >= 0 }) else {
                return "has a negative size, stride or offset"
            }
            guard let count = Shape.elementCount(tensor.shape) else { return "has a size whose product overflows" }
            if count == 0 { return tensor.offset <= tensor.storage.count ? nil : "starts past the end of its storage" }
            guard count <= tensor.storage.count else {
                return "has \(count) elements but its storage holds \(tensor.storage.count) (an expanded view; save it with .contiguous())"
            }
            var last = tensor.offset
            for (size, stride) in zip(tensor.shape, tensor.strides) {
                let (step, overflow) = (size - 1).multipliedReportingOverflow(by: stride)
                let (sum, overflow2) = last.addingReportingOverflow(step)
                if overflow || overflow2 { return "reaches past the end of its storage" }
                last = sum
            }
            return last < tensor.storage.count ? nil : "reaches element \(last) of a storage of \(tensor.storage.count)"
        }()
        if let problem {
            throw PyTorchError.tensorOutsideStorage(tensor: name, storage: tensor.storage.key, problem: problem)
        }
    }
}

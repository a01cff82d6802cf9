/// A storage record of a torch.save archive (`archive/data/KEY`), as a persistent id names it.
final class TorchStorage {
    let key: String
    let dtype: DType
    /// Elements of `dtype` the record holds.
    let count: Int

    init(key: String, dtype: DType, count: Int) {
        self.key = key
        self.dtype = dtype
        self.count = count
    }
}

/// A tensor as `torch._utils._rebuild_tensor_v2` describes it: a strided view of a storage.
final class TorchTensor {
    let storage: TorchStorage
    /// Offset of the first element, in elements.
    let offset: Int
    let shape: [Int]
    /// Elements to skip per step along each axis.
    let strides: [Int]

    init(storage: TorchStorage, offset: Int, shape: [Int], strides: [Int]) {
        self.storage = storage
        self.offset = offset
        self.shape = shape
        self.strides = strides
    }
}

/// The pickle host for `data.pkl`: the allow-list of globals a state dict of tensors needs, and
/// what each builds. Any other global — `os.system`, `builtins.eval`, a model class — is refused
/// when the pickle names it, before anything could call it.
final class TorchPickleHost: PickleHost {
    /// What an allowed global is.
    enum Allowed {
        case orderedDict
        case rebuildTensor
        case rebuildParameter
        case storageType(DType)
    }

    static let allowed: [String: Allowed] = {
        var table: [String: Allowed] = [
            "collections.OrderedDict": .orderedDict,
            "torch._utils._rebuild_tensor_v2": .rebuildTensor,
            "torch._utils._rebuild_parameter": .rebuildParameter,
            "torch._utils._rebuild_parameter_with_state": .rebuildParameter,
            "torch.UntypedStorage": .storageType(.U8),
            "torch.storage.UntypedStorage": .storageType(.U8),
        ]
        let typed: [(String, DType)] = [
            ("FloatStorage", .F32), ("HalfStorage", .F16), ("BFloat16Storage", .BF16), ("DoubleStorage", .F64),
            ("LongStorage", .I64), ("IntStorage", .I32), ("ShortStorage", .I16), ("CharStorage", .I8),
            ("ByteStorage", .U8), ("BoolStorage", .BOOL),
        ]
        // Checkpoints saved from a GPU by old versions name the CUDA storage classes.
        for (name, dtype) in typed {
            table["torch." + name] = .storageType(dtype)
            table["torch.cuda." + name] = .storageType(dtype)
        }
        return table
    }()

    /// Bytes of the archive's storage record `key`, nil if there is none. Told the bytes the
    /// persistent id claims (which must equal the record's), so that the fuzzer can accept any.
    private let recordSize: (_ key: String, _ claimedBytes: Int) -> UInt64?
    private var storages: [String: PickleValue] = [:]

    init(recordSize: @escaping (_ key: String, _ claimedBytes: Int) -> UInt64?) {
        self.recordSize = recordSize
    }

    /// Python 2 module names that protocol-2 pickles (torch's default) write for Python 3 ones, as
    /// Python's `_compat_pickle` maps them back: errors name the global as a Python 3 user knows it.
    static let python2Modules = ["__builtin__": "builtins", "exceptions": "builtins", "copy_reg": "copyreg",
                                 "commands": "subprocess", "cPickle": "pickle", "UserDict": "collections"]

    func global(module: String, name: String) throws -> PickleValue {
        let qualified = (Self.python2Modules[module] ?? module) + "." + name
        guard Self.allowed[qualified] != nil else { throw PyTorchError.forbiddenGlobal(qualified) }
        return .global(qualified)
    }

    func call(_ callable: String, arguments: [PickleValue], heap: PickleHeap) throws -> PickleValue {
        switch Self.allowed[callable] {
        case .orderedDict:
            return try orderedDict(arguments, heap: heap)
        case .rebuildTensor:
            return heap.add(.host(try rebuildTensor(arguments, heap: heap)))
        case .rebuildParameter:
            // (data, requires_grad, backward_hooks[, state]): the tensor is the data.
            guard let data = arguments.first, heap.host(data, as: TorchTensor.self) != nil else {
                throw PyTorchError.badArguments(callable, "expects a tensor first")
            }
            return data
        case .storageType, nil:
            throw PyTorchError.badArguments(callable, "is not something a checkpoint calls")
        }
    }

    /// `OrderedDict()` or `OrderedDict([(key, value), ...])`.
    private func orderedDict(_ arguments: [PickleValue], heap: PickleHeap) throws -> PickleValue {
        guard let items = arguments.first else { return heap.add(.dict([])) }
        guard arguments.count == 1, case .object(let id) = items, case .list(let pairs) = heap[id] else {
            throw PyTorchError.badArguments("collections.OrderedDict", "expects no argument or a list of pairs")
        }
        let entries = try pairs.map { pair -> (key: PickleValue, value: PickleValue) in
            guard let two = heap.tuple(pair), two.count == 2 else {
                throw PyTorchError.badArguments("collections.OrderedDict", "expects (key, value) pairs")
            }
            return (two[0], two[1])
        }
        return heap.add(.dict(entries))
    }

    /// `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])`.
    /// The geometry is checked against the storage when the state dict is read, where the
    /// tensor's name is known.
    private func rebuildTensor(_ arguments: [PickleValue], heap: PickleHeap) throws -> TorchTensor {
        let function = "torch._utils._rebuild_tensor_v2"
        guard arguments.count >= 4, let storage = heap.host(arguments[0], as: TorchStorage.self),
              case .int(let offset) = arguments[1],
              let shape = heap.tuple(arguments[2]).flatMap(Self.integers),
              let strides = heap.tuple(arguments[3]).flatMap(Self.integers) else {
            throw PyTorchError.badArguments(function, "expects (storage, offset, size, stride, ...)")
        }
        return TorchTensor(storage: storage, offset: offset, shape: shape, strides: strides)
    }

    private static func integers(_ values: [PickleValue]) -> [Int]? {
        var result: [Int] = []
        for value in values {
            guard case .int(let n) = value else { return nil }
            result.append(n)
        }
        return result
    }

    /// `('storage', storage_type, key, location, numel)`: the same key always gives the same
    /// storage, so tensors that shared one when saved share it again.
    func persistentLoad(_ id: PickleValue, heap: PickleHeap) throws -> PickleValue {
        guard let fields = heap.tuple(id), fields.count == 5, case .string("storage") = fields[0],
              case .global(let typeName) = fields[1], case .storageType(let dtype) = Self.allowed[typeName],
              case .string(let key) = fields[2], case .int(let count) = fields[4] else {
            throw PyTorchError.badPersistentID(id.kind(in: heap))
        }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.size)
        guard count >= 0, !overflow else { throw PyTorchError.badStorageSize(key: key, elements: count, dtype: dtype) }
        guard let recordSize = recordSize(key, bytes) else { throw PyTorchError.missingStorage(key: key) }
        guard UInt64(bytes) == recordSize else {
            throw PyTorchError.storageSizeMismatch(key: key, elements: count, dtype: dtype, recordBytes: recordSize)
        }
        if let known = storages[key] {
            guard let storage = heap.host(known, as: TorchStorage.self), storage.dtype == dtype else {
                throw PyTorchError.storageTypeConflict(key: key)
            }
            return known
        }
        let storage = heap.add(.host(TorchStorage(key: key, dtype: dtype, count: count)))
        storages[key] = storage
        return storage
    }
}

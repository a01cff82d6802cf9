/// A value on the pickle machine's stack, in its memo, or inside a container.
///
/// Containers are not held here but in a `PickleHeap`, referred to by index: values never nest, so
/// a structure nested a million deep, or one that contains itself, is built and freed without
/// recursion.
enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer outside 64 bits (pickle's LONG); kept only as a placeholder.
    case bigInt
    case float(Double)
    case string(String)
    case bytes([UInt8])
    /// A global the host accepted, by its qualified name (`collections.OrderedDict`).
    case global(String)
    /// A container or host object in the heap.
    case object(Int)

    /// A short description for error messages ("a string", "a tuple", …).
    func kind(in heap: PickleHeap) -> String {
        switch self {
        case .none: return "None"
        case .bool: return "a bool"
        case .int, .bigInt: return "an int"
        case .float: return "a float"
        case .string: return "a string"
        case .bytes: return "bytes"
        case .global(let name): return "'\(name)'"
        case .object(let id): return heap[id].kind
        }
    }
}

/// Everything the pickle machine has built: lists, tuples, dicts, sets, and the host's objects
/// (storages, tensors). Objects are only ever appended, and referred to by their index.
final class PickleHeap {
    enum Object {
        case list([PickleValue])
        case tuple([PickleValue])
        /// Entries in insertion order; a repeated key is kept twice (readers take the last).
        case dict([(key: PickleValue, value: PickleValue)])
        case set([PickleValue])
        case host(AnyObject)

        var kind: String {
            switch self {
            case .list: return "a list"
            case .tuple: return "a tuple"
            case .dict: return "a dict"
            case .set: return "a set"
            case .host(let object): return "a \(type(of: object))"
            }
        }
    }

    private(set) var objects: [Object] = []

    subscript(id: Int) -> Object { objects[id] }

    func add(_ object: Object) -> PickleValue {
        objects.append(object)
        return .object(objects.count - 1)
    }

    /// The elements of a tuple value, or nil if it is not a tuple.
    func tuple(_ value: PickleValue) -> [PickleValue]? {
        guard case .object(let id) = value, case .tuple(let items) = objects[id] else { return nil }
        return items
    }

    /// The entries of a dict value, or nil if it is not a dict.
    func dict(_ value: PickleValue) -> [(key: PickleValue, value: PickleValue)]? {
        guard case .object(let id) = value, case .dict(let entries) = objects[id] else { return nil }
        return entries
    }

    /// The host object a value refers to, if it is one of type `T`.
    func host<T>(_ value: PickleValue, as type: T.Type) -> T? {
        guard case .object(let id) = value, case .host(let object) = objects[id] else { return nil }
        return object as? T
    }

    /// Appends `items` to the list or set `id`; false if `id` is neither. The object is taken out
    /// of the array while it grows so that its storage is uniquely referenced (no copy per append).
    func extend(_ id: Int, with items: [PickleValue]) -> Bool {
        switch objects[id] {
        case .list(var elements):
            objects[id] = .tuple([])
            elements.append(contentsOf: items)
            objects[id] = .list(elements)
        case .set(var elements):
            objects[id] = .tuple([])
            elements.append(contentsOf: items)
            objects[id] = .set(elements)
        default:
            return false
        }
        return true
    }

    /// Adds key/value pairs to the dict `id`; false if it is not a dict.
    func insert(_ id: Int, _ pairs: [(key: PickleValue, value: PickleValue)]) -> Bool {
        guard case .dict(var entries) = objects[id] else { return false }
        objects[id] = .tuple([])
        entries.append(contentsOf: pairs)
        objects[id] = .dict(entries)
        return true
    }
}

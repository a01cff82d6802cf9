/// Element types of tensors, named as safetensors names them.
///
/// Every type can be read. `F8_E4M3` and `F8_E5M2` can be read and widened to f32 but not written
/// to `.npz`, which has no such type.
public enum DType: String, CaseIterable, Sendable {
    case F64, F32, F16, BF16
    case I64, I32, I16, I8
    case U64, U32, U16, U8
    case BOOL
    case F8_E4M3, F8_E5M2

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .F64, .I64, .U64: return 8
        case .F32, .I32, .U32: return 4
        case .F16, .BF16, .I16, .U16: return 2
        case .I8, .U8, .BOOL, .F8_E4M3, .F8_E5M2: return 1
        }
    }

    /// Whether the type holds floating-point numbers (the types `--dtype` casts).
    public var isFloatingPoint: Bool {
        switch self {
        case .F64, .F32, .F16, .BF16, .F8_E4M3, .F8_E5M2: return true
        default: return false
        }
    }

    /// PyTorch's name of this floating-point type ("float32", "bfloat16"; as `config.json`'s `dtype`
    /// names it), nil for the others.
    public var torchName: String? {
        switch self {
        case .F64: return "float64"
        case .F32: return "float32"
        case .F16: return "float16"
        case .BF16: return "bfloat16"
        case .F8_E4M3: return "float8_e4m3fn"
        case .F8_E5M2: return "float8_e5m2"
        default: return nil
        }
    }

    /// The rank of this type in the safetensors writer's ordering (the declaration order of the
    /// Rust `Dtype` enum). The reference writer lays tensors out by descending rank, then by name,
    /// so that larger alignments come first.
    var safetensorsRank: Int {
        switch self {
        case .BOOL: return 0
        case .U8: return 1
        case .I8: return 2
        case .F8_E5M2: return 3
        case .F8_E4M3: return 4
        case .I16: return 5
        case .U16: return 6
        case .F16: return 7
        case .BF16: return 8
        case .I32: return 9
        case .U32: return 10
        case .F32: return 11
        case .F64: return 12
        case .I64: return 13
        case .U64: return 14
        }
    }
}

/// Tensor shapes and their sizes, with overflow checked (shapes come from untrusted files).
public enum Shape {
    /// Number of elements of `shape`, or nil if a dimension is negative or the product overflows `Int`.
    public static func elementCount(_ shape: [Int]) -> Int? {
        var count = 1
        for dim in shape {
            guard dim >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            if overflow { return nil }
            count = product
        }
        return count
    }

    /// Bytes of a tensor of `shape` and `dtype`, or nil on overflow.
    static func byteCount(_ shape: [Int], _ dtype: DType) -> Int? {
        guard let count = elementCount(shape) else { return nil }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.size)
        return overflow ? nil : bytes
    }

    /// `[2, 3]` — the form safetensors and the Python tools print.
    static func text(_ shape: [Int]) -> String {
        "[" + shape.map(String.init).joined(separator: ", ") + "]"
    }
}

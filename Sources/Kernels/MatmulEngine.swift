import CBLAS
import COneDNN
import Glibc

/// The library that runs ckpt's matrix products with weights: oneDNN or OpenBLAS. Either runs each
/// piece of a product on one thread; ckpt splits a product into pieces of fixed shape (see
/// `LinearWeight`), so results are the same bits at any thread count on one machine and engine.
public enum MatmulEngine: String, Sendable, CaseIterable {
    case onednn
    case openblas

    /// The environment variable that forces an engine.
    public static let environmentVariable = "CKPT_ENGINE"

    /// `CKPT_ENGINE` when set, else the default: oneDNN where it can run products on this CPU.
    /// oneDNN was chosen by measurement — 2× OpenBLAS's f32 rate on an AMD Zen 5 where
    /// OpenBLAS is pinned to its Haswell kernels, and 4–5× on an Intel Xeon whose model Debian's
    /// OpenBLAS 0.3.21 does not know (it runs its generic Prescott kernels there); `ckpt system
    /// --measure` times both on the running CPU.
    /// Throws for a value of `CKPT_ENGINE` that names no engine.
    public static func selected() throws -> MatmulEngine {
        guard let value = getenv(environmentVariable).map({ String(cString: $0) }), !value.isEmpty else { return defaultEngine }
        guard let engine = MatmulEngine(rawValue: value.lowercased()) else { throw EngineError.unknownEngine(value) }
        if engine == .onednn && !OneDNNProducts.available { throw EngineError.unavailable(engine) }
        return engine
    }

    /// Throws what `selected()` would for the value of `CKPT_ENGINE`, without probing oneDNN when the
    /// variable is unset (the probe builds a primitive; a command that runs no product need not pay it).
    public static func checkEnvironment() throws {
        guard let value = getenv(environmentVariable), value.pointee != 0 else { return }
        _ = try selected()
    }

    /// The engine products use when none is named: `selected()`, or the default if
    /// `CKPT_ENGINE` is invalid (the CLI reports that before it gets here).
    public static let current: MatmulEngine = (try? selected()) ?? defaultEngine

    private static var defaultEngine: MatmulEngine { OneDNNProducts.available ? .onednn : .openblas }

    /// The kernel this engine runs on this CPU: oneDNN's implementation of a MiniLM-shaped block
    /// ("brg:avx512_core", "gemm:jit", ...), or OpenBLAS's core ("SkylakeX", "Haswell", ...: what
    /// OPENBLAS_CORETYPE pins, where it is set), "row by row" where its kernel rounds a row by its
    /// place in a block (see `LinearWeight`).
    public var kernel: String { kernel(.f32) }

    /// The kernel of `precision`'s products. Where the engine has none (OpenBLAS's bf16 and int8,
    /// oneDNN's int8 without VNNI), "f32 (name)": the rounded or quantized values multiplied in f32.
    /// bf16 weights that oneDNN multiplies widened to f32 (see `ckpt_dnnl_bf16_widened`) say so.
    public func kernel(_ precision: Precision) -> String {
        if precision != .f32, let kernel = reducedPrecisionKernel(precision) {
            return precision == .bf16 && ckpt_dnnl_bf16_widened() != 0 ? kernel + ", bf16 weights widened" : kernel
        }
        let f32 = switch self {
        case .onednn: OneDNNProducts.implementation(inputs: 384, width: LinearWeight.panelWidth, rows: LinearWeight.rowBlock) ?? "unavailable"
        case .openblas:
            (openblas_get_corename().map { String(cString: $0) } ?? "unknown")
                + (BLAS.roundsEveryRowAlike(rows: LinearWeight.rowBlock, inputs: 384, outputs: LinearWeight.panelWidth) ? "" : ", row by row")
        }
        return precision == .f32 ? f32 : "f32 (\(f32))"
    }

    /// Whether this engine multiplies in `precision` itself here (rather than in f32).
    public func runsNatively(_ precision: Precision) -> Bool {
        precision == .f32 || reducedPrecisionKernel(precision) != nil
    }

    /// What to tell a user who asked for `precision` where this engine multiplies its values in f32
    /// (same results, slower); nil where it runs natively.
    public func fallbackNote(_ precision: Precision) -> String? {
        guard !runsNatively(precision) else { return nil }
        return "note: \(rawValue) has no \(precision.rawValue) products on this CPU"
            + "\(precision == .int8 && self == .onednn ? " (no AVX-512 VNNI)" : ""); the \(precision.rawValue) values are multiplied in f32 (same results, slower)"
    }

    /// oneDNN's kernel for bf16 or int8 products of a MiniLM-shaped block, where it has one
    /// (int8 only with VNNI); nil on OpenBLAS.
    private func reducedPrecisionKernel(_ precision: Precision) -> String? {
        guard self == .onednn, precision != .int8 || ckpt_dnnl_int8_native() != 0 else { return nil }
        return OneDNNProducts.implementation(inputs: 384, width: LinearWeight.panelWidth, rows: LinearWeight.rowBlock, precision: precision)
    }
}

/// Why an engine cannot be used.
public enum EngineError: Error, CustomStringConvertible {
    case unknownEngine(String)
    case unavailable(MatmulEngine)

    public var description: String {
        switch self {
        case .unknownEngine(let value):
            "\(MatmulEngine.environmentVariable): unknown matrix-product engine \"\(value)\" (known: \(MatmulEngine.allCases.map(\.rawValue).joined(separator: ", ")))"
        case .unavailable(let engine):
            "\(MatmulEngine.environmentVariable): the \(engine.rawValue) engine cannot run products on this CPU (unset it to use the default)"
        }
    }
}

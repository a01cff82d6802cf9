import ArgumentParser
import Kernels

extension Precision: ExpressibleByArgument {}

/// `--precision f32|bf16|int8`, which every command that runs a model takes.
struct PrecisionOption: ParsableArguments {
    @Option(help: ArgumentHelp("Precision of the model's products with weights (default: f32; predict and evaluate: the head's).",
                               valueName: "f32|bf16|int8"))
    var precision: Precision?

    /// `--precision`, else `fallback`; says on stderr (unless `quiet`) when the engine has no
    /// products of that precision on this CPU and runs the same numbers in f32, slower.
    func resolved(default fallback: Precision = .f32, quiet: Bool = false) -> Precision {
        let chosen = precision ?? fallback
        let engine = MatmulEngine.current
        if !quiet && !engine.runsNatively(chosen) {
            printError("note: \(engine.rawValue) has no \(chosen.rawValue) products on this CPU"
                       + "\(chosen == .int8 && engine == .onednn ? " (no AVX-512 VNNI)" : ""); the \(chosen.rawValue) values are multiplied in f32 (same results, slower)")
        }
        return chosen
    }
}

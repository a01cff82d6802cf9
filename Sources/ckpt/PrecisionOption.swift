import ArgumentParser
import Kernels

extension Precision: ExpressibleByArgument {}

/// `--precision f32|bf16|int8`, which every command that runs a model takes.
struct PrecisionOption: ParsableArguments {
    @Option(help: ArgumentHelp("Precision of the model's products with weights (default: f32; predict, evaluate and serve --head: the head's).",
                               valueName: "f32|bf16|int8"))
    var precision: Precision?

    /// `--precision`, else `fallback`; says on stderr (unless `quiet`) when the engine has no
    /// products of that precision on this CPU and runs the same numbers in f32, slower.
    func resolved(default fallback: Precision = .f32, quiet: Bool = false) -> Precision {
        let chosen = precision ?? fallback
        if !quiet, let note = MatmulEngine.current.fallbackNote(chosen) { printError(note) }
        return chosen
    }
}

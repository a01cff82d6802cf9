import ArgumentParser
import Kernels

extension Precision: ExpressibleByArgument {}

/// `--precision f32|bf16|int8`, which every command that runs a model takes.
struct PrecisionOption: ParsableArguments {
    @Option(help: ArgumentHelp("Precision of the model's products with weights (default: as the checkpoint is stored, int8 or bf16, else f32; predict, evaluate and serve --head: the head's).",
                               valueName: "f32|bf16|int8"))
    var precision: Precision?

    /// `--precision`, else `fallback` (a head's); nil leaves it to the model's loader, which runs
    /// the checkpoint as it is stored (`ModelSource.storedPrecision()`).
    func requested(default fallback: Precision? = nil) -> Precision? { precision ?? fallback }

    /// Says on stderr (unless `quiet`) when the engine has no products of `loaded`, the precision
    /// the model was loaded in, on this CPU and runs the same numbers in f32, slower.
    func noteFallback(_ loaded: Precision, quiet: Bool = false) {
        if !quiet, let note = MatmulEngine.current.fallbackNote(loaded) { printError(note) }
    }
}

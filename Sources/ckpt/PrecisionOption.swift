import ArgumentParser
import Kernels
import Transformers

extension Precision: ExpressibleByArgument {}

/// `--precision f32|bf16|int8`, which every command that runs a model takes.
struct PrecisionOption: ParsableArguments {
    @Option(help: ArgumentHelp("Precision of the model's products with weights (default: as the checkpoint is stored, int8 or bf16, else f32; predict, evaluate and serve --head: the head's).",
                               valueName: "f32|bf16|int8"))
    var precision: Precision?

    /// `--precision`, else `fallback` (a head's), else the precision `source`'s checkpoint is stored
    /// for; says on stderr (unless `quiet`) when the engine has no products of that precision on
    /// this CPU and runs the same numbers in f32, slower.
    func resolved(for source: ModelSource, default fallback: Precision? = nil, quiet: Bool = false) throws -> Precision {
        let chosen = try precision ?? fallback ?? source.storedPrecision()
        if !quiet, let note = MatmulEngine.current.fallbackNote(chosen) { printError(note) }
        return chosen
    }
}

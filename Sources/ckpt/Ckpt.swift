import ArgumentParser

@main
struct Ckpt: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ckpt",
        abstract: "Inspect and convert transformer checkpoints (safetensors, sharded safetensors, npz).",
        subcommands: [Inspect.self, Convert.self]
    )
}

import ArgumentParser

@main
struct Ckpt: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ckpt",
        abstract: "Transformer checkpoints from the shell: convert them, run BERT and GPT-2 on the CPU, extract sentence features, and train, tune and evaluate classifier heads on them.",
        version: ckptVersion,
        subcommands: [System.self, Inspect.self, Convert.self, Tokenize.self, Embed.self, Similarity.self, Search.self, Attention.self, Project.self, Merge.self, Serve.self, FillMask.self, Generate.self, Perplexity.self, TrainHead.self, TuneHead.self, FewShot.self, Runs.self, Predict.self, Evaluate.self, BenchTokenize.self, BenchEmbed.self, BenchGenerate.self, BenchDecodePrecisions.self, BenchSearch.self]
    )
}

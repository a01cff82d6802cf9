import ArgumentParser

@main
struct Ckpt: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ckpt",
        abstract: "Transformer checkpoints from the shell: system, inspect, convert, tokenize, embed, fill-mask, generate, perplexity, train-head, tune-head, few-shot, runs, predict, evaluate.",
        version: ckptVersion,
        subcommands: [System.self, Inspect.self, Convert.self, Tokenize.self, Embed.self, Similarity.self, Search.self, Attention.self, Project.self, Merge.self, Serve.self, FillMask.self, Generate.self, Perplexity.self, TrainHead.self, TuneHead.self, FewShot.self, Runs.self, Predict.self, Evaluate.self, BenchTokenize.self, BenchEmbed.self, BenchGenerate.self, BenchSearch.self]
    )
}

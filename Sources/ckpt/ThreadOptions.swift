import ArgumentParser
import Foundation
import Kernels

/// `--threads N`, which every command that computes takes (default: all cores).
struct ThreadOptions: ParsableArguments {
    @Option(help: "Threads (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
        // A mistyped CKPT_ENGINE is reported before any work, not ignored.
        do {
            try MatmulEngine.checkEnvironment()
        } catch {
            printError("error: \(error)")
            throw ExitCode.failure
        }
    }
}

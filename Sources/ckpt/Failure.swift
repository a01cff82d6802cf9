import Analysis
import ArgumentParser
import CkptSupport
import HeadTraining
import TensorFormats
import Transformers

import Foundation

/// Runs a command's work, turning a library error into the CLI's one-line `error: <file>: <problem>`
/// on stderr and exit status 1. Usage errors (`ValidationError`) pass through to exit 64.
func reportingFailure(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ValidationError {
        throw error
    } catch let error as ExitCode {
        throw error
    } catch {
        printError("error: \(error)" + optionHint(for: error))
        throw ExitCode.failure
    }
}

/// What to pass to fix a library error, in the CLI's own option names (library messages speak of
/// values and files only); empty when no option fixes it.
func optionHint(for error: Error) -> String {
    switch (error as? FormatError)?.problem ?? error {
    case OutputError.exists: " (pass --force to overwrite it)"
    case TextInputError.missingColumn: "; choose one with --text-column"
    case NPZError.unsupportedDType: " with --dtype"
    case ConversionError.nothingSelected: " (--include, --exclude)"
    case GenerationError.promptTooLong: " (--truncate-left)"
    case HeadTrainingError.validationTooSmall: " (--valid-fraction)"
    case HeadTrainingError.cacheUnwritable: "; choose another place with --cache-dir or pass --no-cache"
    case AnalysisError.tooFewPoints: " (--perplexity, or --method pca)"
    default: ""
    }
}

/// Writes a line to stderr.
func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// "86.6 MiB" — sizes for people.
func humanBytes(_ bytes: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    if unit == 0 { return "\(bytes) B" }
    let tenths = (value * 10).rounded() / 10
    return "\(tenths) \(units[unit])"
}

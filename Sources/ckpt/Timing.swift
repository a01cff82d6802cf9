import Dispatch
import Glibc

/// The fastest of `repeats` runs of `body` (at least one), in seconds, with the last run's result:
/// the timing the hidden bench commands (and train-head's summary) report.
func bestTime<T>(repeats: Int, _ body: () throws -> T) rethrows -> (seconds: Double, result: T) {
    var best = Double.infinity
    var result: T?
    for _ in 0..<max(1, repeats) {
        let start = DispatchTime.now().uptimeNanoseconds
        result = try body()
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    return (best, result!)
}

/// The process's peak resident memory so far, in bytes (getrusage's maxrss, kilobytes on Linux).
func peakResidentBytes() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_maxrss * 1024
}

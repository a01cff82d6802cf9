import Dispatch

/// Splits independent work over threads. While the workers run, OpenBLAS is held to one thread
/// per call (its products inside are small), then given back `threads`.
enum Parallel {
    /// Runs `body` once per thread, on contiguous parts of `range` of (nearly) equal size.
    static func forEachPart(of range: Range<Int>, threads: Int, _ body: @Sendable (Range<Int>) -> Void) {
        let workers = max(1, min(threads, range.count))
        if workers == 1 {
            body(range)
            return
        }
        BLAS.setThreads(1)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            body((range.lowerBound + range.count * worker / workers)..<(range.lowerBound + range.count * (worker + 1) / workers))
        }
        BLAS.setThreads(threads)
    }
}

/// Buffers the workers share; each writes only its own rows.
struct SharedBuffers: @unchecked Sendable {
    let input: UnsafePointer<Float>
    let output: UnsafeMutablePointer<Float>

    init(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>) {
        self.input = input
        self.output = output
    }
}

import Dispatch

/// Splits independent work over threads. While the workers run, OpenBLAS is held to one thread
/// per call (its products inside are small), then given back `threads`.
enum Parallel {
    static func forEach(_ range: Range<Int>, threads: Int, _ body: @Sendable (Int) -> Void) {
        let workers = max(1, min(threads, range.count))
        if workers == 1 {
            for i in range { body(i) }
            return
        }
        BLAS.setThreads(1)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let start = range.lowerBound + range.count * worker / workers
            let end = range.lowerBound + range.count * (worker + 1) / workers
            for i in start..<end { body(i) }
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

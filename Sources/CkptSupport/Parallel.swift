import CKernels
import Dispatch

/// Splits independent work over threads.
package enum Parallel {
    /// Runs `body` once per thread, on contiguous parts of `range` of (nearly) equal size.
    package static func forEachPart(of range: Range<Int>, threads: Int, _ body: @Sendable (Range<Int>) -> Void) {
        let workers = max(1, min(threads, range.count))
        if workers == 1 {
            body(range)
            return
        }
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            body((range.lowerBound + range.count * worker / workers)..<(range.lowerBound + range.count * (worker + 1) / workers))
        }
    }

    /// Runs `body` once for each index in 0..<count on up to `threads` threads, each thread taking
    /// the next index when it finishes one, so a core that stalls (another process, the hypervisor
    /// taking the vCPU) delays one index, not a fixed share.
    package static func forEachIndex(_ count: Int, threads: Int, _ body: @Sendable (Int) -> Void) {
        let workers = max(1, min(threads, count))
        if workers == 1 {
            for index in 0..<count { body(index) }
            return
        }
        withUnsafeTemporaryAllocation(of: Int64.self, capacity: 1) { counter in
            counter[0] = 0
            let next = UncheckedSendable(counter.baseAddress!)  // claimed atomically (see CKernels)
            DispatchQueue.concurrentPerform(iterations: workers) { _ in
                while case let index = Int(ckpt_claim_next(next.value)), index < count { body(index) }
            }
        }
    }
}

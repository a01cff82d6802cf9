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
        run(workers, claiming: false) { worker in
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
        share(threads: workers) { next in
            while case let index = Int(ckpt_claim_next(next)), index < count { body(index) }
        }
    }

    /// Runs `body(next)` on up to `threads` threads at once, all given the same counter, 0 at
    /// first, from which they claim the work themselves (atomically: see CKernels), so that any
    /// number of them does all of it.
    package static func share(threads: Int, _ body: @Sendable (UnsafeMutablePointer<Int64>) -> Void) {
        withUnsafeTemporaryAllocation(of: Int64.self, capacity: 1) { counter in
            counter[0] = 0
            let next = UncheckedSendable(counter.baseAddress!)
            if threads <= 1 { return body(next.value) }
            run(threads, claiming: true) { _ in body(next.value) }
        }
    }

    /// Runs `body(w)` for w in 0..<workers at once, on the spinning pool of CKernels (threads that
    /// answer within microseconds), or through Dispatch when the pool is running another region.
    /// `claiming`: the workers claim the work themselves, so that any number of them does all of it;
    /// nested in a pool region, such a body runs on this thread and on those of the region's
    /// threads that have finished their own part (see `ckpt_pool_share`).
    private static func run(_ workers: Int, claiming: Bool, _ body: @Sendable (Int) -> Void) {
        typealias Body = @Sendable (Int) -> Void
        withoutActuallyEscaping(body) { body in
            // The pool's threads call the body through a pointer to it, valid until the region returns.
            let pooled = withUnsafePointer(to: body) { pointer in
                (claiming ? ckpt_pool_share : ckpt_pool_run)(Int64(workers), { context, worker in
                    context!.assumingMemoryBound(to: Body.self).pointee(Int(worker))
                }, UnsafeMutableRawPointer(mutating: pointer))
            }
            if pooled != 0 { DispatchQueue.concurrentPerform(iterations: workers, execute: body) }
        }
    }
}

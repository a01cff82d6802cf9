import CKernels
import Dispatch

/// Measures the machine's memory read bandwidth: `threads` threads each stream their share of a
/// buffer far larger than the last-level cache (1 GiB by default), best of `repeats`. Decoding one
/// token reads every weight once, so weight bytes ÷ this rate bounds the tokens per second.
public enum MemoryBandwidth {
    /// Bytes per second.
    public static func measure(threads: Int, bytes: Int = 1 << 30, repeats: Int = 5) -> Double {
        let buffer = FloatBuffer(bytes / 4)
        // Written before timing: untouched pages of a fresh mapping all read the kernel's one zero
        // page, from cache, which once gave "92 GB/s".
        buffer.p.update(repeating: 1, count: buffer.count)
        var best = Double.infinity
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            DispatchQueue.concurrentPerform(iterations: threads) { worker in
                let begin = buffer.count * worker / threads, end = buffer.count * (worker + 1) / threads
                _ = ckpt_stream_sum(buffer.p + begin, Int64(end - begin))  // a C call the optimiser cannot drop
            }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return Double(buffer.count * 4) / best
    }
}

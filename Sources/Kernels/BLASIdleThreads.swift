import Glibc

extension BLAS {
    /// Ends OpenBLAS's worker threads, which the next multi-threaded product starts again. After
    /// start-up and after each multi-threaded product they wait for work by spinning on
    /// `sched_yield` for about 0.1 s, and on a two-core machine that takes half of the second core
    /// from kernels of our own running there (a two-thread head fit took 0.041–0.076 s with them
    /// spinning, 0.039–0.045 s without). Call it before such kernels, with no product running. A
    /// no-op where OpenBLAS lacks the hook (its OpenMP build): `blas_thread_shutdown_` is the
    /// function OpenBLAS itself calls before `fork`, looked up at run time for that reason.
    /// Returns whether the hook was there.
    @discardableResult
    package static func endIdleThreads() -> Bool {
        guard let library = dlopen(nil, RTLD_NOW), let shutdown = dlsym(library, "blas_thread_shutdown_") else { return false }
        _ = unsafeBitCast(shutdown, to: (@convention(c) () -> Int32).self)()
        return true
    }
}

/// Lets a value the compiler cannot prove thread-safe cross into work that threads share — in ckpt,
/// pointers to buffers whose parts each thread writes separately (the caller's promise that no two
/// threads touch the same element), and atomic counters. The one such wrapper of the package.
package struct UncheckedSendable<T>: @unchecked Sendable {
    package let value: T
    package init(_ value: T) { self.value = value }
}

/// Results of work shared among threads, each written into its own slot of a fixed buffer (no
/// array is resized or copied while threads write).
package final class ResultSlots<T: Sendable>: @unchecked Sendable {
    private let slots: UnsafeMutableBufferPointer<Result<T, Error>?>

    package init(count: Int) {
        slots = .allocate(capacity: count)
        slots.initialize(repeating: nil)
    }

    deinit {
        slots.deinitialize()
        slots.deallocate()
    }

    package func set(_ i: Int, _ value: Result<T, Error>) { slots[i] = value }

    package var values: [Result<T, Error>?] { Array(slots) }
}

/// Top-k lists: the one argsort that fill-mask, sampling and head predictions share.
public enum Ranking {
    /// Positions of the `k` largest values (all of them when `k` is nil or larger), largest first;
    /// equal values keep their order, as a stable descending argsort does. NaN ranks below every number.
    public static func top<C: RandomAccessCollection>(_ k: Int? = nil, of values: C) -> [C.Index] where C.Element == Float {
        func before(_ a: C.Index, _ b: C.Index) -> Bool {
            let x = values[a], y = values[b]
            if x.isNaN || y.isNaN { return !x.isNaN && y.isNaN || (x.isNaN && y.isNaN && a < b) }
            return x > y || (x == y && a < b)
        }
        let limit = min(k ?? values.count, values.count)
        guard limit > 0 else { return [] }
        if limit * 8 >= values.count { return Array(values.indices.sorted(by: before).prefix(limit)) }
        // A few of many (a vocabulary's best): keep the best `limit` seen so far in order.
        var best: [C.Index] = []
        best.reserveCapacity(limit + 1)
        for index in values.indices where best.count < limit || before(index, best[limit - 1]) {
            var low = 0, high = best.count
            while low < high {
                let middle = (low + high) / 2
                if before(best[middle], index) { low = middle + 1 } else { high = middle }
            }
            best.insert(index, at: low)
            if best.count > limit { best.removeLast() }
        }
        return best
    }

    /// `top(k, of:)` for values in memory, without generic overhead: a bounded heap of the best `k`
    /// seen so far, O(n log k). Same order and tie rule as `top`.
    public static func top(_ k: Int, of values: UnsafeBufferPointer<Float>) -> [Int] {
        @inline(__always) func better(_ a: Int, _ b: Int) -> Bool {
            let x = values[a], y = values[b]
            if x.isNaN || y.isNaN { return !x.isNaN && y.isNaN || (x.isNaN && y.isNaN && a < b) }
            return x > y || (x == y && a < b)
        }
        let limit = min(k, values.count)
        guard limit > 0 else { return [] }
        // A heap whose root is the worst of the kept indices.
        var heap = [Int]()
        heap.reserveCapacity(limit)
        func siftDown(_ start: Int) {
            var i = start
            while true {
                let left = 2 * i + 1, right = left + 1
                var worst = i
                if left < heap.count && better(heap[worst], heap[left]) { worst = left }
                if right < heap.count && better(heap[worst], heap[right]) { worst = right }
                if worst == i { return }
                heap.swapAt(i, worst)
                i = worst
            }
        }
        for index in 0..<values.count {
            if heap.count < limit {
                heap.append(index)
                var i = heap.count - 1
                while i > 0 && better(heap[(i - 1) / 2], heap[i]) {
                    heap.swapAt(i, (i - 1) / 2)
                    i = (i - 1) / 2
                }
            } else if better(index, heap[0]) {
                heap[0] = index
                siftDown(0)
            }
        }
        return heap.sorted(by: better)
    }
}

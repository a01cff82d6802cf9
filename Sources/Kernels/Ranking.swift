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
}

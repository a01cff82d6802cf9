import Kernels

/// How the k nearest neighbours vote: one vote each, or a vote worth the neighbour's cosine.
public enum NeighbourVoting: String, Sendable, CaseIterable {
    case uniform, similarity
}

/// k-nearest-neighbour classification by cosine over the stored, L2-normalised training rows:
/// the k most similar rows (equal similarities: the earlier row) vote for their class; the class
/// with the most votes wins, ties going to the larger summed similarity, then to class order.
/// Probabilities are each class's share of the votes.
public struct NearestNeighbours: Sendable, Equatable {
    /// Normalised training rows.
    public let memory: FeatureMatrix
    /// Class index of each stored row.
    public let labels: [Int]
    public let classes: Int
    public let k: Int
    public let voting: NeighbourVoting

    public init(memory: FeatureMatrix, labels: [Int], classes: Int, k: Int, voting: NeighbourVoting) {
        precondition(memory.rows == labels.count && k >= 1 && labels.allSatisfy { (0..<classes).contains($0) }, "NearestNeighbours: inconsistent memory")
        self.memory = memory
        self.labels = labels
        self.classes = classes
        self.k = k
        self.voting = voting
    }

    /// Stores the normalised `features` with their class indices.
    public init(features: FeatureMatrix, labels: [Int], classes: Int, k: Int, voting: NeighbourVoting) {
        self.init(memory: FeatureGeometry.normalised(features), labels: labels, classes: classes, k: k, voting: voting)
    }

    /// Votes and summed similarities of each class, each [rows, classes].
    func tally(_ features: FeatureMatrix, threads: Int) -> (votes: [Float], similarity: [Float]) {
        let K = classes, N = memory.rows, take = min(k, N), rows = features.rows
        let cosines = FeatureGeometry.similarities(FeatureGeometry.normalised(features), memory, threads: threads)
        var votes = [Float](repeating: 0, count: rows * K), sums = [Float](repeating: 0, count: rows * K)
        for row in 0..<rows {
            for j in NearestNeighbours.nearest(take, of: cosines, row: row, count: N) {
                let similarity = cosines[row * N + j]
                votes[row * K + labels[j]] += voting == .uniform ? 1 : similarity
                sums[row * K + labels[j]] += similarity
            }
        }
        return (votes, sums)
    }

    /// Positions of the `k` largest of `values[row·count ..< (row+1)·count]`, largest first, equal
    /// values in position order (as a stable descending argsort).
    static func nearest(_ k: Int, of values: [Float], row: Int, count: Int) -> [Int] {
        var best = [Int](), scores = [Float]()
        best.reserveCapacity(k + 1)
        scores.reserveCapacity(k + 1)
        values.withUnsafeBufferPointer { all in
            let v = all.baseAddress! + row * count
            for j in 0..<count where best.count < k || v[j] > scores[k - 1] {
                var at = best.count
                while at > 0 && scores[at - 1] < v[j] { at -= 1 }   // after every equal value: earlier rows first
                best.insert(j, at: at)
                scores.insert(v[j], at: at)
                if best.count > k { best.removeLast(); scores.removeLast() }
            }
        }
        return best
    }

    /// The winning class of each row.
    func predictions(_ features: FeatureMatrix, threads: Int) -> [Int] {
        let (votes, sums) = tally(features, threads: threads)
        let K = classes
        return (0..<features.rows).map { row in
            var best = 0
            for c in 1..<K {
                let (v, b) = (votes[row * K + c], votes[row * K + best])
                if v > b || (v == b && sums[row * K + c] > sums[row * K + best]) { best = c }
            }
            return best
        }
    }

    func probabilities(fromScores votes: [Float]) -> [Float] {
        var p = votes
        for row in 0..<(votes.count / classes) {
            let total = p[(row * classes)..<((row + 1) * classes)].reduce(0, +)
            for c in 0..<classes { p[row * classes + c] = total > 0 ? p[row * classes + c] / total : 1 / Float(classes) }
        }
        return p
    }
}

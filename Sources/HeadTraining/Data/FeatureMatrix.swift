import CkptSupport
import TensorFormats
import Transformers

/// Feature vectors, one row per example: `values` is [rows × dimension], row-major float32.
public struct FeatureMatrix: Sendable, Equatable {
    public var rows: Int
    public var dimension: Int
    public var values: [Float]

    public init(rows: Int, dimension: Int, values: [Float]) {
        precondition(values.count == rows * dimension, "FeatureMatrix: values do not fill rows × dimension")
        self.rows = rows
        self.dimension = dimension
        self.values = values
    }

    /// A 2-D float tensor from a file (`.npy`, or the one tensor — or "features" — of a
    /// `.safetensors`/`.npz`), f16/bf16/f64 converted to float32.
    public init(file path: String) throws {
        try self.init(checkpoint: try Checkpoint(path: path))
    }

    /// The features `checkpoint` holds, read as `init(file:)` reads them.
    public init(checkpoint: Checkpoint) throws {
        let path = checkpoint.path
        let info = try attributing(to: path) { () throws -> TensorInfo in
            let candidates = checkpoint.tensors.count == 1 ? checkpoint.tensors : checkpoint.tensors.filter { $0.name == "features" }
            guard let info = candidates.first else {
                throw HeadTrainingError.badFeatureFile("expected one tensor, or one named 'features'; found \(checkpoint.tensors.count)")
            }
            guard info.shape.count == 2, info.dtype.isFloatingPoint else {
                throw HeadTrainingError.badFeatureFile("'\(info.name)' is \(info.dtype) \(info.shape); features must be a 2-D float array [rows, dimension]")
            }
            return info
        }
        self.init(rows: info.shape[0], dimension: info.shape[1], values: try checkpoint.tensor(named: info.name).floats())
    }

    /// The rows at `indices`, in that order.
    public func subset(_ indices: [Int]) -> FeatureMatrix {
        let d = dimension
        let out = [Float](unsafeUninitializedCapacity: indices.count * d) { out, count in
            values.withUnsafeBufferPointer { values in
                for (row, i) in indices.enumerated() {
                    precondition(i >= 0 && i < rows, "FeatureMatrix.subset: row \(i) outside \(rows) rows")
                    (out.baseAddress! + row * d).initialize(from: values.baseAddress! + i * d, count: d)
                }
            }
            count = indices.count * d
        }
        return FeatureMatrix(rows: indices.count, dimension: d, values: out)
    }

    /// Columns `range` of every row, each row L2-normalised if `normalized` (as the feature
    /// extractor normalises): one pooling's features out of several concatenated.
    public func columns(_ range: Range<Int>, normalized: Bool) -> FeatureMatrix {
        precondition(range.lowerBound >= 0 && range.upperBound <= dimension, "FeatureMatrix.columns: \(range) outside \(dimension) columns")
        var out = [Float](repeating: 0, count: rows * range.count)
        out.withUnsafeMutableBufferPointer { out in
            for r in 0..<rows {
                let row = UnsafeMutableBufferPointer(rebasing: out[(r * range.count)..<((r + 1) * range.count)])
                for (i, c) in range.enumerated() { row[i] = values[r * dimension + c] }
                if normalized { PoolingSettings.normalize(row) }
            }
        }
        return FeatureMatrix(rows: rows, dimension: range.count, values: out)
    }

    /// Throws on the first NaN or infinity (training on one would poison every weight).
    public func checkFinite() throws(HeadTrainingError) {
        // x·0 is 0 for a finite x and NaN for ±∞ and NaN: one vectorised pass over the features
        // (a few percent of a head fit when done value by value), then the search only on failure.
        let allFinite = values.withUnsafeBufferPointer { v in
            // Four sums side by side, so the adds' latency does not bound the pass.
            var lanes = (SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>()), tail: Float = 0, i = 0
            func zeroed(_ at: Int) -> SIMD16<Float> { UnsafeRawPointer(v.baseAddress! + at).loadUnaligned(as: SIMD16<Float>.self) * 0 }
            while i + 64 <= v.count {
                lanes.0 += zeroed(i); lanes.1 += zeroed(i + 16); lanes.2 += zeroed(i + 32); lanes.3 += zeroed(i + 48)
                i += 64
            }
            while i < v.count { tail += v[i] * 0; i += 1 }
            return (lanes.0 + lanes.1 + lanes.2 + lanes.3).sum() + tail == 0
        }
        if !allFinite, let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw HeadTrainingError.nonFiniteFeature(row: bad / max(dimension, 1), column: bad % max(dimension, 1))
        }
    }
}

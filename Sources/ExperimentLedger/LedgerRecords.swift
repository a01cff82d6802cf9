import CkptSupport
import Foundation

/// What a study was run on: the data file (or files) and the shape of the labelled features.
public struct DatasetSummary: Sendable, Equatable {
    /// The file it was read from, as given.
    public var name: String
    /// A content hash of the data (see `ContentHash`).
    public var hash: String
    public var rows: Int
    /// Examples per class, in class order.
    public var classBalance: [(label: String, count: Int)]
    public var dimension: Int

    public init(name: String, hash: String, rows: Int, classBalance: [(label: String, count: Int)], dimension: Int) {
        self.name = name
        self.hash = hash
        self.rows = rows
        self.classBalance = classBalance
        self.dimension = dimension
    }

    public static func == (a: DatasetSummary, b: DatasetSummary) -> Bool {
        a.name == b.name && a.hash == b.hash && a.rows == b.rows && a.dimension == b.dimension
            && a.classBalance.map(\.label) == b.classBalance.map(\.label) && a.classBalance.map(\.count) == b.classBalance.map(\.count)
    }

    var balanceJSON: JSON { .object(classBalance.map { ($0.label, .number("\($0.count)")) }) }

    /// How evenly the classes are filled: the entropy of the class shares over its maximum (1 when
    /// every class has as many examples, towards 0 as one class dominates).
    public var balance: Double {
        guard classBalance.count > 1 else { return 1 }
        let total = Double(classBalance.reduce(0) { $0 + $1.count })
        let entropy = classBalance.reduce(0.0) { h, c in
            let p = Double(c.count) / total
            return p > 0 ? h - p * log(p) : h
        }
        return entropy / log(Double(classBalance.count))
    }
}

/// A study as it starts.
public struct StudyEntry: Sendable {
    /// `train-head`, `tune-head` or `few-shot`.
    public var kind: String
    public var ckptVersion: String
    /// The model directory and the hash of its weights; nil for precomputed features.
    public var model: String?
    public var modelHash: String?
    public var dataset: DatasetSummary
    /// The command's settings.
    public var settings: JSON
    /// The head directory written, if any.
    public var output: String?

    public init(kind: String, ckptVersion: String, model: String?, modelHash: String?, dataset: DatasetSummary, settings: JSON, output: String?) {
        self.kind = kind
        self.ckptVersion = ckptVersion
        self.model = model
        self.modelHash = modelHash
        self.dataset = dataset
        self.settings = settings
        self.output = output
    }
}

/// A trial as it is recorded.
public struct TrialEntry: Sendable {
    public var number: Int
    public var head: String
    public var parameters: JSON
    public var foldScores: [Double]
    public var mean: Double?
    public var std: Double?
    public var state: String
    public var seconds: Double
    public var seededBy: String?
    /// Further scores (few-shot macro-F1 per repeat, a validation report).
    public var scores: JSON?

    public init(number: Int, head: String, parameters: JSON, foldScores: [Double], mean: Double?, std: Double?, state: String,
                seconds: Double, seededBy: String? = nil, scores: JSON? = nil) {
        self.number = number
        self.head = head
        self.parameters = parameters
        self.foldScores = foldScores
        self.mean = mean
        self.std = std
        self.state = state
        self.seconds = seconds
        self.seededBy = seededBy
        self.scores = scores
    }
}

/// A study as the ledger holds it.
public struct StoredStudy: Sendable {
    public var id: Int64
    public var kind: String
    public var started: String
    public var finished: String?
    public var ckptVersion: String
    public var model: String?
    public var modelHash: String?
    public var dataset: DatasetSummary
    public var settings: JSON
    public var bestTrial: Int?
    public var test: JSON?
    public var seconds: Double?
    public var output: String?
}

/// A trial as the ledger holds it.
public struct StoredTrial: Sendable {
    public var study: Int64
    public var entry: TrialEntry
}

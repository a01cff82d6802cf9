import CkptSupport
import TensorFormats

/// How a head is fitted: L-BFGS on the full batch, or AdamW on shuffled mini-batches.
public enum OptimizerKind: String, Sendable, CaseIterable {
    case lbfgs, adamw
}

/// Per-class weights of the loss: none, or `balanced` — n / (classes · count of the class), as
/// scikit-learn's `class_weight="balanced"`.
public enum ClassWeighting: String, Sendable, CaseIterable {
    case none, balanced
}

/// Everything that decides a trained head; the same settings and data give the same head.
public struct TrainingSettings: Sendable, Equatable {
    public var head: HeadKind = .linear
    public var optimizer: OptimizerKind = .lbfgs
    /// L-BFGS: most iterations (default 1000); AdamW: passes over the data (default 100 for a
    /// linear head, 50 for an MLP).
    public var epochs: Int?
    public var learningRate: Float = 1e-3
    /// L-BFGS: λ of the L2 penalty (λ/2)·‖W‖² added to the mean loss; the default 1/n is
    /// scikit-learn's C = 1 (λ = 1/(C·n)). AdamW: decoupled weight decay (default 0.01).
    public var weightDecay: Double?
    public var batchSize = 32
    public var hiddenSize = 256
    public var dropout: Float = 0.1
    public var classWeight: ClassWeighting = .none
    /// kNN: neighbours consulted, and how they vote.
    public var neighbours = 10
    public var voting: NeighbourVoting = .uniform
    /// AdamW with a validation set: epochs without a better validation loss before stopping.
    public var patience = 5
    /// L-BFGS: stop when no gradient component exceeds this.
    public var tolerance = 1e-7
    public var seed: UInt64 = 0

    public init() {}

    public var resolvedEpochs: Int { epochs ?? (optimizer == .lbfgs ? 1000 : head == .linear ? 100 : 50) }

    public func resolvedWeightDecay(rows: Int) -> Double { weightDecay ?? (optimizer == .lbfgs ? 1 / Double(max(rows, 1)) : 0.01) }

    /// The settings as `head.json` records them.
    public func json(rows: Int) -> JSON { .object(members(rows: rows)) }

    func members(rows: Int) -> [(String, JSON)] {
        switch head {
        case .centroid: return [("head", .string(head.rawValue)), ("train_rows", .number("\(rows)"))]
        case .knn:
            return [("head", .string(head.rawValue)), ("k", .number("\(neighbours)")), ("voting", .string(voting.rawValue)),
                    ("train_rows", .number("\(rows)"))]
        case .linear, .mlp: break
        }
        var members: [(String, JSON)] = [
            ("head", .string(head.rawValue)), ("optimizer", .string(optimizer.rawValue)),
            ("epochs", .number("\(resolvedEpochs)")), ("weight_decay", .number("\(resolvedWeightDecay(rows: rows))")),
            ("class_weight", .string(classWeight.rawValue)), ("seed", .number("\(seed)")), ("train_rows", .number("\(rows)")),
        ]
        if optimizer == .lbfgs {
            members.append(("tolerance", .number("\(tolerance)")))
        } else {
            members += [("learning_rate", .number("\(learningRate)")), ("batch_size", .number("\(batchSize)")), ("patience", .number("\(patience)"))]
        }
        if head == .mlp { members += [("hidden_size", .number("\(hiddenSize)")), ("dropout", .number("\(dropout)"))] }
        return members
    }
}

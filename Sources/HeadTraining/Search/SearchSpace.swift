import CkptSupport

/// One value of a searched parameter: a number (integers are whole numbers) or a named choice.
public enum ParameterValue: Sendable, Equatable, Hashable {
    case number(Double)
    case choice(String)

    public var json: JSON {
        switch self {
        case .number(let x): return .number(x == x.rounded() && abs(x) < 1e15 ? "\(Int(x))" : "\(x)")
        case .choice(let s): return .string(s)
        }
    }

    /// The number, for a numeric parameter.
    public var number: Double? { if case .number(let x) = self { return x }; return nil }
    /// The name chosen, for a choice.
    public var choice: String? { if case .choice(let s) = self { return s }; return nil }
}

/// The values a parameter may take. Log domains are searched on the logarithm.
public enum ParameterDomain: Sendable, Equatable {
    case real(low: Double, high: Double, log: Bool)
    case integer(low: Int, high: Int, log: Bool)
    case choice([String])
}

/// A searched parameter and the heads it belongs to.
public struct SearchParameter: Sendable, Equatable {
    public let name: String
    public let domain: ParameterDomain
    /// The heads whose trials have this parameter (every head for `head` itself).
    public let heads: [HeadKind]
}

/// A trial's settings: parameter name → value, for the parameters of its head.
public typealias TrialParameters = [String: ParameterValue]

/// What `tune-head` searches: the head type (when more than one is allowed), the features' pooling
/// and normalisation (when asked), the L2 penalty λ of linear heads (log scale, 1e-6…1e2), class
/// weighting (linear, MLP), hidden size (32…1024, log), dropout (0…0.5) and learning rate
/// (1e-4…1e-2, log) of MLPs, k (1…50, log) and voting of kNN.
public struct SearchSpace: Sendable {
    public let heads: [HeadKind]
    public let parameters: [SearchParameter]

    /// `poolings`: the pooling modes to search (with normalisation on and off), none to keep the
    /// features as given.
    public init(heads: [HeadKind], poolings: [String] = []) throws {
        guard !heads.isEmpty else { throw SearchError.nothingToSearch }
        self.heads = heads
        var parameters: [SearchParameter] = []
        if heads.count > 1 { parameters.append(SearchParameter(name: "head", domain: .choice(heads.map(\.rawValue)), heads: heads)) }
        if !poolings.isEmpty {
            parameters.append(SearchParameter(name: "pooling", domain: .choice(poolings), heads: heads))
            parameters.append(SearchParameter(name: "normalize", domain: .choice(["false", "true"]), heads: heads))
        }
        let candidates = [
            SearchParameter(name: "lambda", domain: .real(low: 1e-6, high: 1e2, log: true), heads: [.linear]),
            SearchParameter(name: "class_weight", domain: .choice(ClassWeighting.allCases.map(\.rawValue)), heads: [.linear, .mlp]),
            SearchParameter(name: "hidden_size", domain: .integer(low: 32, high: 1024, log: true), heads: [.mlp]),
            SearchParameter(name: "dropout", domain: .real(low: 0, high: 0.5, log: false), heads: [.mlp]),
            SearchParameter(name: "learning_rate", domain: .real(low: 1e-4, high: 1e-2, log: true), heads: [.mlp]),
            SearchParameter(name: "k", domain: .integer(low: 1, high: 50, log: true), heads: [.knn]),
            SearchParameter(name: "voting", domain: .choice(NeighbourVoting.allCases.map(\.rawValue)), heads: [.knn]),
        ]
        parameters += candidates.filter { !Set($0.heads).isDisjoint(with: heads) }
        self.parameters = parameters
    }

    /// Which features a trial is fitted on: "pooling+normalize" when they are searched, else "".
    public func features(of trial: TrialParameters) -> String {
        guard let pooling = trial["pooling"]?.choice, let normalize = trial["normalize"]?.choice else { return "" }
        return pooling + "+" + normalize
    }

    /// The head of a trial.
    public func head(of trial: TrialParameters) -> HeadKind {
        heads.count == 1 ? heads[0] : trial["head"]!.choice.flatMap(HeadKind.init(rawValue:))!
    }

    /// The parameters a trial of `head` has, in search order.
    func parameters(for head: HeadKind) -> [SearchParameter] { parameters.filter { $0.name != "head" && $0.heads.contains(head) } }

    /// The grid: for linear heads λ = 1e-6, 1e-5, …, 1e2 (class weighting as `base` sets it);
    /// MLP hidden size 128, 256, 512 × learning rate 1e-3, 3e-3; kNN k = 1, 3, 5, 10, 20, 50
    /// (uniform votes); the centroid head once — for each pooling × normalisation when those are searched.
    public func grid(base: TrainingSettings) -> [TrialParameters] {
        guard case .choice(let poolings)? = parameters.first(where: { $0.name == "pooling" })?.domain else { return headGrid(base: base) }
        return poolings.flatMap { pooling in
            ["false", "true"].flatMap { normalize in
                headGrid(base: base).map { $0.merging(["pooling": .choice(pooling), "normalize": .choice(normalize)]) { a, _ in a } }
            }
        }
    }

    private func headGrid(base: TrainingSettings) -> [TrialParameters] {
        var trials: [TrialParameters] = []
        func add(_ head: HeadKind, _ values: TrialParameters) {
            var t = values
            if heads.count > 1 { t["head"] = .choice(head.rawValue) }
            trials.append(t)
        }
        for head in heads {
            switch head {
            case .linear:
                for e in -6...2 { add(.linear, ["lambda": .number(SearchSpace.power10(e)), "class_weight": .choice(base.classWeight.rawValue)]) }
            case .mlp:
                for h in [128, 256, 512] {
                    for lr in [1e-3, 3e-3] {
                        add(.mlp, ["hidden_size": .number(Double(h)), "learning_rate": .number(lr), "dropout": .number(Double(base.dropout)),
                                   "class_weight": .choice(base.classWeight.rawValue)])
                    }
                }
            case .knn:
                for k in [1, 3, 5, 10, 20, 50] { add(.knn, ["k": .number(Double(k)), "voting": .choice(NeighbourVoting.uniform.rawValue)]) }
            case .centroid:
                add(.centroid, [:])
            }
        }
        return trials
    }

    /// 10^e as the decimal literal reads (`pow` may be off by an ulp).
    static func power10(_ e: Int) -> Double { Double("1e\(e)")! }

    /// Training settings for `trial`, everything else from `base`.
    public func settings(for trial: TrialParameters, base: TrainingSettings) -> TrainingSettings {
        var s = base
        s.head = head(of: trial)
        s.optimizer = s.head == .mlp ? .adamw : .lbfgs
        if let v = trial["lambda"]?.number { s.weightDecay = v }
        if let v = trial["class_weight"]?.choice.flatMap(ClassWeighting.init(rawValue:)) { s.classWeight = v }
        if let v = trial["hidden_size"]?.number { s.hiddenSize = Int(v) }
        if let v = trial["dropout"]?.number { s.dropout = Float(v) }
        if let v = trial["learning_rate"]?.number { s.learningRate = Float(v) }
        if let v = trial["k"]?.number { s.neighbours = Int(v) }
        if let v = trial["voting"]?.choice.flatMap(NeighbourVoting.init(rawValue:)) { s.voting = v }
        return s
    }

    /// `trial` as JSON, parameters in search order.
    public func json(_ trial: TrialParameters) -> JSON {
        .object(parameters.compactMap { p in trial[p.name].map { (p.name, $0.json) } })
    }

    /// A trial read back from JSON (the ledger's records), keeping only parameters this space has
    /// with values inside their domains; nil when its head is not searched here.
    public func trial(from json: JSON) -> TrialParameters? {
        var t: TrialParameters = [:]
        for p in parameters {
            guard let value = json[p.name] else { continue }
            switch p.domain {
            case .choice(let names):
                guard let s = value.string, names.contains(s) else { continue }
                t[p.name] = .choice(s)
            case .real(let low, let high, _):
                guard let x = value.double, x >= low, x <= high else { continue }
                t[p.name] = .number(x)
            case .integer(let low, let high, _):
                guard let x = value.double, x >= Double(low), x <= Double(high), x == x.rounded() else { continue }
                t[p.name] = .number(x)
            }
        }
        if heads.count == 1 {
            guard (json["head"]?.string).map({ $0 == heads[0].rawValue }) ?? true else { return nil }
        } else if t["head"] == nil { return nil }
        let needed = parameters(for: head(of: t)).map(\.name)
        return needed.allSatisfy { t[$0] != nil } ? t.filter { $0.key == "head" || needed.contains($0.key) } : nil
    }
}

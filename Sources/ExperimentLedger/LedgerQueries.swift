import CkptSupport
import Foundation

extension Ledger {
    static let studyColumns = """
        id, kind, started, finished, ckpt_version, model, model_hash, dataset, dataset_hash, rows, class_balance, dimension,
        settings, best_trial, test, seconds, output
        """

    /// Every study, oldest first (or those on the dataset with `datasetHash`).
    public func studies(datasetHash: String? = nil) throws -> [StoredStudy] {
        let filter = datasetHash == nil ? "" : " WHERE dataset_hash = ?"
        return try attributing(to: path) {
            try database.query("SELECT \(Ledger.studyColumns) FROM studies\(filter) ORDER BY id", datasetHash.map { [.text($0)] } ?? [])
                .map(Ledger.study(from:))
        }
    }

    /// Study `id`.
    public func study(_ id: Int64) throws -> StoredStudy {
        try attributing(to: path) {
            guard let row = try database.query("SELECT \(Ledger.studyColumns) FROM studies WHERE id = ?", [.integer(id)]).first else {
                throw LedgerError.noSuchStudy(id)
            }
            return Ledger.study(from: row)
        }
    }

    /// The trials of study `id` (of every study when nil), in study and trial order.
    public func trials(study id: Int64? = nil) throws -> [StoredTrial] {
        try trials(where: id == nil ? "" : "WHERE t.study_id = ?", id.map { [.integer($0)] } ?? [])
    }

    /// The best trial of each finished study of `kind`, by study id.
    func bestTrials(kind: String) throws -> [Int64: TrialEntry] {
        Dictionary(uniqueKeysWithValues: try trials(where: "JOIN studies s ON s.id = t.study_id AND s.best_trial = t.number WHERE s.kind = ?",
                                                    [.text(kind)]).map { ($0.study, $0.entry) })
    }

    private func trials(where clause: String, _ values: [SQLiteDatabase.Value]) throws -> [StoredTrial] {
        try attributing(to: path) {
            try database.query("""
                SELECT t.study_id, t.number, t.head, t.params, t.fold_scores, t.cv_mean, t.cv_std, t.state, t.seconds, t.seeded_by, t.scores
                FROM trials t \(clause) ORDER BY t.study_id, t.number
                """, values).map { r in
                StoredTrial(study: r[0].int!, entry: TrialEntry(
                    number: Int(r[1].int!), head: r[2].string ?? "", parameters: Ledger.json(r[3]) ?? .object([]),
                    foldScores: Ledger.json(r[4])?.array?.compactMap(\.double) ?? [], mean: r[5].double, std: r[6].double,
                    state: r[7].string ?? "", seconds: r[8].double ?? 0, seededBy: r[9].string, scores: Ledger.json(r[10])))
            }
        }
    }

    private static func json(_ value: SQLiteDatabase.Value) -> JSON? { value.string.flatMap { try? JSON.parse($0) } }

    private static func study(from r: [SQLiteDatabase.Value]) -> StoredStudy {
        let balance = json(r[10])?.object?.map { (label: $0.0, count: $0.1.int ?? 0) } ?? []
        return StoredStudy(
            id: r[0].int!, kind: r[1].string ?? "", started: r[2].string ?? "", finished: r[3].string, ckptVersion: r[4].string ?? "",
            model: r[5].string, modelHash: r[6].string,
            dataset: DatasetSummary(name: r[7].string ?? "", hash: r[8].string ?? "", rows: Int(r[9].int ?? 0), classBalance: balance,
                                    dimension: Int(r[11].int ?? 0)),
            settings: json(r[12]) ?? .null, bestTrial: r[13].int.map(Int.init), test: json(r[14]), seconds: r[15].double, output: r[16].string)
    }

    /// The finished tune-head studies nearest to `dataset` on `modelHash`'s features, nearest
    /// first, each with its best trial: distance over the meta-features log₁₀ rows, classes / 10,
    /// class balance and log₁₀ dimension (Euclidean), plus 1 when the encoder differs.
    public func nearestStudies(to dataset: DatasetSummary, modelHash: String?, limit: Int) throws -> [(study: StoredStudy, best: TrialEntry, distance: Double)] {
        func features(_ d: DatasetSummary) -> [Double] {
            [log10(Double(max(d.rows, 1))), Double(d.classBalance.count) / 10, d.balance, log10(Double(max(d.dimension, 1)))]
        }
        let target = features(dataset)
        var found: [(study: StoredStudy, best: TrialEntry, distance: Double)] = []
        let best = try bestTrials(kind: "tune-head")
        for study in try studies() {
            guard let trial = best[study.id] else { continue }
            let f = features(study.dataset)
            var distance = zip(f, target).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
            if study.modelHash != modelHash { distance += 1 }
            found.append((study, trial, distance))
        }
        return Array(found.sorted { $0.distance < $1.distance || ($0.distance == $1.distance && $0.study.id > $1.study.id) }.prefix(limit))
    }
}

extension Ledger {
    /// What SQLite's `PRAGMA integrity_check` finds wrong with the file (empty when nothing).
    public func integrityProblems() throws -> [String] {
        let rows = try attributing(to: path) { try database.query("PRAGMA integrity_check") }.compactMap { $0.first?.string }
        return rows == ["ok"] ? [] : rows
    }
}

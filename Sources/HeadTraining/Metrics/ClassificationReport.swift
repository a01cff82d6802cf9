import CkptSupport
import TensorFormats

/// Accuracy, macro-F1, per-class precision/recall/F1 and the confusion matrix of predictions
/// against true labels, computed as scikit-learn computes them: a class with no predictions has
/// precision 0, one with no examples recall 0 (`zero_division=0`), and macro-F1 averages over the
/// classes that occur in the truth or the predictions. True labels the head never saw in training
/// are added as classes of their own (always counted wrong).
public struct ClassificationReport: Sendable {
    public struct ClassScores: Sendable {
        public var label: String
        public var precision: Double
        public var recall: Double
        public var f1: Double
        /// Examples of this class in the truth.
        public var support: Int
    }

    /// The head's classes, then unseen true labels in code-point order.
    public var labels: [String]
    /// confusion[true][predicted], indexed like `labels`.
    public var confusion: [[Int]]
    public var accuracy: Double
    public var macroF1: Double
    public var perClass: [ClassScores]
    /// True labels that are not among the head's classes.
    public var unseenLabels: [String]
    /// Examples whose true label is one of `unseenLabels`.
    public var unseenCount: Int { perClass.suffix(unseenLabels.count).reduce(0) { $0 + $1.support } }

    public init(truth: [String], predicted: [String], classes: [String]) {
        precondition(truth.count == predicted.count, "ClassificationReport: truth and predictions differ in count")
        let known = Set(classes)
        let unseen = LabelledDataset.classes(of: truth.filter { !known.contains($0) })
        let labels = classes + unseen
        let index = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })
        var confusion = Array(repeating: Array(repeating: 0, count: labels.count), count: labels.count)
        for (t, p) in zip(truth, predicted) { confusion[index[t]!][index[p]!] += 1 }
        let correct = labels.indices.reduce(0) { $0 + confusion[$1][$1] }
        (self.unseenLabels, self.labels, self.confusion) = (unseen, labels, confusion)
        accuracy = truth.isEmpty ? 0 : Double(correct) / Double(truth.count)
        var scores: [ClassScores] = []
        var f1Sum = 0.0, averaged = 0
        for (c, label) in labels.enumerated() {
            let support = confusion[c].reduce(0, +)
            let predictedCount = confusion.reduce(0) { $0 + $1[c] }
            let hits = confusion[c][c]
            let precision = predictedCount == 0 ? 0 : Double(hits) / Double(predictedCount)
            let recall = support == 0 ? 0 : Double(hits) / Double(support)
            let f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall)
            scores.append(ClassScores(label: label, precision: precision, recall: recall, f1: f1, support: support))
            if support > 0 || predictedCount > 0 { f1Sum += f1; averaged += 1 }
        }
        perClass = scores
        macroF1 = averaged == 0 ? 0 : f1Sum / Double(averaged)
    }

    /// The report as `ckpt evaluate --json` prints it.
    public var json: JSON {
        func number(_ x: Double) -> JSON { .number("\(x)") }
        return .object([
            ("accuracy", number(accuracy)), ("macro_f1", number(macroF1)),
            ("per_class", .object(perClass.map { s in
                (s.label, .object([("precision", number(s.precision)), ("recall", number(s.recall)), ("f1", number(s.f1)),
                                   ("support", .number("\(s.support)"))]))
            })),
            ("confusion", .array(confusion.map { .array($0.map { .number("\($0)") }) })),
            ("labels", .array(labels.map { .string($0) })),
        ])
    }

    /// What head.json records of a validation: the rows scored, accuracy and macro-F1.
    public func validationRecord(rows: Int) -> JSON {
        .object([("rows", .number("\(rows)")), ("accuracy", .number("\(accuracy)")), ("macro_f1", .number("\(macroF1)"))])
    }

    /// A plain-text table: per-class scores, totals, then the confusion matrix (rows: truth).
    public var table: String {
        let width = max(8, labels.map { $0.count }.max() ?? 0)
        func pad(_ s: String, _ n: Int, left: Bool = false) -> String {
            let space = String(repeating: " ", count: max(0, n - s.count))
            return left ? s + space : space + s
        }
        func fixed(_ x: Double) -> String { String(format4: x) }
        var lines = [pad("class", width, left: true) + "  precision     recall         f1    support"]
        for s in perClass {
            lines.append(pad(s.label, width, left: true) + pad(fixed(s.precision), 11) + pad(fixed(s.recall), 11)
                         + pad(fixed(s.f1), 11) + pad("\(s.support)", 11))
        }
        let total = perClass.reduce(0) { $0 + $1.support }
        lines.append("")
        lines.append(pad("accuracy", width, left: true) + pad(fixed(accuracy), 33) + pad("\(total)", 11))
        lines.append(pad("macro-F1", width, left: true) + pad(fixed(macroF1), 33))
        lines.append("")
        lines.append("confusion matrix (rows: true label, columns: predicted)")
        let cell = max(6, labels.map { $0.count }.max() ?? 0) + 1
        lines.append(pad("", width, left: true) + labels.map { pad($0, cell) }.joined())
        for (c, label) in labels.enumerated() {
            lines.append(pad(label, width, left: true) + confusion[c].map { pad("\($0)", cell) }.joined())
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

extension String {
    /// `x` with four decimals ("0.9040"), without Foundation.
    init(format4 x: Double) {
        let scaled = (abs(x) * 10_000).rounded()
        let whole = Int(scaled) / 10_000, fraction = Int(scaled) % 10_000
        let digits = String(fraction)
        self = (x < 0 && scaled > 0 ? "-" : "") + "\(whole)." + String(repeating: "0", count: 4 - digits.count) + digits
    }
}

import ArgumentParser
import CkptSupport
import Foundation
import ExperimentLedger
import HeadTraining
import Kernels
import TensorFormats
import Transformers

/// Labelled features for the head commands, with what the ledger records about them.
struct LabelledFeatures {
    var features: FeatureMatrix
    var labels: [String]
    /// The file(s) the data came from: a name for people, and the files the content hash reads.
    var source: String
    var files: [String]
    /// How the features were made: by the model here, or as a precomputed file records it (nil if it does not).
    var origin: FeatureOrigin?

    /// What the ledger records of the data; hashes the files (read again), so only for a ledger.
    func summary() throws -> DatasetSummary {
        DatasetSummary(name: source, hash: try contentHash(files), rows: labels.count, classBalance: LabelledDataset.classCounts(of: labels),
                       dimension: features.dimension)
    }

    /// The model the ledger records, the one that made the features, with its weights' fingerprint:
    /// nil for features that do not say, no fingerprint when a file names a model no longer there.
    func ledgerModel() throws -> (path: String?, hash: String?) {
        guard let model = origin?.model else { return (nil, nil) }
        return (model, FileSystem.exists(model) ? try ModelFingerprint.weights(modelDirectory: model) : nil)
    }

    /// A study of `kind` on these features as the ledger records it: `model` (else `ledgerModel()`),
    /// `dataset` (else `summary()`), and `settings` with how the features were made (`studySettings`).
    func studyEntry(kind: String, settings: JSON, output: String?, model: (path: String?, hash: String?)? = nil,
                    dataset: DatasetSummary? = nil) throws -> StudyEntry {
        let encoder = try model ?? ledgerModel()
        return StudyEntry(kind: kind, ckptVersion: ckptVersion, model: encoder.path, modelHash: encoder.hash, dataset: try dataset ?? summary(),
                          settings: studySettings(settings), output: output)
    }

    /// `settings`, a command's own for the ledger, with how its features were made after them:
    /// `features` {pooling, precision}, null for precomputed features that do not record them.
    private func studySettings(_ settings: JSON) -> JSON {
        let made: JSON = origin.map { .object([("pooling", $0.pooling.json), ("precision", .string($0.precision.rawValue))]) } ?? .null
        return .object((settings.object ?? []) + [("features", made)])
    }
}

/// The CRC-32 and length of the bytes of `paths` in turn, as `crc32:HEX:BYTES`: the ledger's
/// content hash of a dataset (the same files give the same hash on any machine).
func contentHash(_ paths: [String]) throws -> String {
    var crc: UInt32 = 0
    var bytes = 0
    for path in paths {
        let file = try MappedFile(path: path)
        withExtendedLifetime(file) { crc = CRC32.update(crc, file.bytes) }
        bytes += file.bytes.count
    }
    return "crc32:\(String(crc, radix: 16)):\(bytes)"
}

extension FeatureOptions {
    /// The texts of `file` encoded by `extractor` of `model` (through the cache) with their labels.
    func labelled(_ file: String, extractor: FeatureExtractor, model: String, cache: FeatureCache?) throws -> LabelledFeatures {
        let data = try dataset(file)
        let features = try encoding.encode(data.texts, extractor: extractor, cache: cache, source: file)
        return LabelledFeatures(features: features, labels: data.labels, source: file, files: [file],
                                origin: FeatureOrigin(model: absolutePath(model), pooling: extractor.settings, precision: extractor.model.precision))
    }

    /// `--features` with `--labels`.
    func labelledPrecomputed() throws -> LabelledFeatures {
        let (features, labels, origin) = try precomputed()
        return LabelledFeatures(features: features, labels: labels!, source: self.features! + " + " + self.labels!,
                                files: [self.features!, self.labels!], origin: origin)
    }

    /// Precomputed features and labels other than `--features`/`--labels` (test sets).
    func labelledPrecomputed(features: String, labels: String) throws -> LabelledFeatures {
        var options = self
        options.features = features
        options.labels = labels
        return try options.labelledPrecomputed()
    }

    /// The training data and a second labelled set (test or validation): the texts of `train` and
    /// `other` encoded by `model` (one extractor, one cache), or `--features`/`--labels` with
    /// `otherFeatures`/`otherLabels`, which must not record another pooling or precision than
    /// `--features` does. `everyPooling`: the texts' features under every pooling mode,
    /// concatenated in `PoolingMode.allCases` order and not normalised (one pass, one cache).
    func labelledSets(model: String?, train: String?, other: String?, otherFeatures: String?, otherLabels: String?,
                      everyPooling: Bool = false) throws -> (LabelledFeatures, LabelledFeatures?) {
        guard let model, let train else {
            let data = try labelledPrecomputed()
            let other = try otherFeatures.map { try labelledPrecomputed(features: $0, labels: otherLabels!) }
            if let made = data.origin, let (these, those) = other?.origin?.difference(from: made.pooling, made.precision) {
                throw FormatError(file: otherFeatures!, HeadTrainingError.otherFeatures(these: these, those: those, whose: "--features \(features!)"))
            }
            return (data, other)
        }
        let source = try ModelSource(path: model)
        var settings = try source.poolingSettings()
        if everyPooling { (settings.modes, settings.normalize) = (PoolingMode.allCases, false) }
        let extractor = try FeatureExtractor(source: source, settings: settings, precision: encoding.numeric.requested())
        encoding.numeric.noteFallback(extractor.model.precision, quiet: encoding.quiet)
        let cache = try encoding.cache(for: extractor, model: model)
        return (try labelled(train, extractor: extractor, model: model, cache: cache),
                try other.map { try labelled($0, extractor: extractor, model: model, cache: cache) })
    }
}

/// `--heads linear,centroid,knn`: head names, each once.
enum HeadList {
    static func parse(_ text: String) throws -> [HeadKind] {
        let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        if let unknown = names.first(where: { HeadKind(rawValue: $0) == nil }) {
            throw ValidationError("unknown head '\(unknown)' in --heads (known: \(HeadKind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        if names.isEmpty || Set(names).count != names.count { throw ValidationError("--heads must name each head once") }
        return names.compactMap(HeadKind.init(rawValue:))
    }
}

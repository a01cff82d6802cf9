import CkptSupport
import ExperimentLedger
import HeadTraining
import Kernels
import TensorFormats
import Transformers

/// Labelled features for the head commands, with what the ledger records about them.
struct LabelledFeatures {
    var features: FeatureMatrix
    var labels: [String]
    /// Pooling and precision of features encoded here (nil for precomputed features).
    var extraction: (pooling: PoolingSettings, precision: Precision)?
    /// The file(s) the data came from, and their content hash.
    var source: String
    var hash: String

    var summary: DatasetSummary {
        DatasetSummary(name: source, hash: hash, rows: labels.count, classBalance: LabelledDataset.classCounts(of: labels),
                       dimension: features.dimension)
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
    /// The texts of `file` encoded by `extractor` (through the cache) with their labels.
    func labelled(_ file: String, extractor: FeatureExtractor, cache: FeatureCache?) throws -> LabelledFeatures {
        let data = try dataset(file)
        let features = try encode(data.texts, extractor: extractor, cache: cache, source: file)
        return LabelledFeatures(features: features, labels: data.labels, extraction: (extractor.settings, extractor.model.precision),
                                source: file, hash: try contentHash([file]))
    }

    /// `--features` with `--labels`.
    func labelledPrecomputed() throws -> LabelledFeatures {
        let (features, labels) = try precomputed()
        return LabelledFeatures(features: features, labels: labels!, extraction: nil, source: self.features! + " + " + self.labels!,
                                hash: try contentHash([self.features!, self.labels!]))
    }

    /// Precomputed test features and labels (`--test-features`, `--test-labels`).
    func labelledPrecomputed(features: String, labels: String) throws -> LabelledFeatures {
        var options = self
        options.features = features
        options.labels = labels
        return try options.labelledPrecomputed()
    }
}

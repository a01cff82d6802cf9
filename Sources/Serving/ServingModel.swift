import CkptSupport
import Foundation
import HeadTraining
import Kernels
import Tokenizers
import Transformers

/// What the server runs once loaded: the feature extractor behind its batcher, and the heads.
final class ServingModel: Sendable {
    let extractor: FeatureExtractor
    let heads: [String: SavedHead]
    let batcher: DynamicBatcher
    let settings: ServerSettings
    let metrics: ServerMetrics
    /// Notes for the operator: heads trained on features of a model at another path than the server's.
    let notes: [String]

    /// Loads the heads and the model, in the precision the settings name, else the first head's, else
    /// the one its checkpoint is stored for; a head trained on other features (pooling,
    /// normalisation, length limit, precision, dimension) than the server makes is an error naming
    /// it, since its answers would not be `ckpt predict`'s.
    init(settings: ServerSettings, metrics: ServerMetrics) throws {
        let saved = try settings.heads.map { (name: $0.name, directory: $0.directory, head: try SavedHead(directory: $0.directory)) }
        extractor = try FeatureExtractor(path: settings.model, precision: settings.precision ?? saved.lazy.compactMap(\.head.precision).first)
        let precision = extractor.model.precision
        var heads: [String: SavedHead] = [:], notes: [String] = []
        let served = URL(fileURLWithPath: settings.model).standardizedFileURL.path
        for (name, directory, head) in saved {
            // Another path may hold the same model (a copy, a converted checkpoint), so this is a note, not an error.
            if let trainedOn = head.model, URL(fileURLWithPath: trainedOn).standardizedFileURL.path != served {
                notes.append("note: head '\(name)' was trained on features of \(trainedOn); this server encodes with \(settings.model)")
            }
            if let (trained, served) = FeatureOrigin.difference(pooling: head.pooling, precision: head.precision, from: extractor.settings, precision) {
                throw FormatError(file: directory, ServingError.headMismatch(name: name, head: trained, server: served))
            }
            guard head.head.dimension == extractor.dimension else {
                throw FormatError(file: directory, ServingError.headMismatch(name: name, head: "dimension \(head.head.dimension)",
                                                                            server: "dimension \(extractor.dimension)"))
            }
            heads[name] = head
        }
        self.heads = heads
        self.notes = notes
        self.settings = settings
        self.metrics = metrics
        batcher = DynamicBatcher(extractor: extractor, threads: settings.threads, maxBatchTokens: settings.maxBatchTokens,
                                 capacity: settings.maxConcurrentRequests, metrics: metrics)
    }

    /// The model's inputs for a request's texts: at most `maxClientBatchSize` texts (413), none empty
    /// (400), each within the model's limit (422) unless `truncate`, when it is cut as `ckpt embed` cuts it.
    func encodings(_ texts: [String], truncate: Bool) throws -> [Encoding] {
        guard !texts.isEmpty else { throw APIError.badRequest("the input is empty; send a text or a list of texts") }
        try checkBatchSize(texts.count)
        if let empty = texts.firstIndex(where: \.isEmpty) { throw APIError.badRequest("input \(empty) is an empty string") }
        let started = Date()
        defer { metrics.observe(.tokenization, Date().timeIntervalSince(started)) }
        let limit = extractor.maxLength
        return try texts.enumerated().map { index, text in
            let full = extractor.tokenizer.encode(text)
            guard full.count > limit else { return full }
            guard truncate else {
                throw APIError.tooLong("input \(index) has \(full.count) tokens; the model takes at most \(limit) (ask to truncate it)")
            }
            return extractor.tokenizer.encode(text, maxLength: limit)
        }
    }

    /// Refuses more texts in one request than `maxClientBatchSize` (413).
    func checkBatchSize(_ count: Int) throws {
        guard count <= settings.maxClientBatchSize else {
            throw APIError.tooLarge("\(count) texts in one request; the server takes at most \(settings.maxClientBatchSize)")
        }
    }

    /// Features of the inputs through the batcher, [inputs.count × dimension].
    func features(_ inputs: [Encoding], normalize: Bool? = nil) async throws -> [Float] {
        metrics.countTokens(inputs.reduce(0) { $0 + $1.count })
        return try await batcher.features(inputs, normalize: normalize ?? extractor.settings.normalize)
    }
}

/// Why a server cannot start.
public enum ServingError: Error, CustomStringConvertible, Equatable {
    case headMismatch(name: String, head: String, server: String)

    public var description: String {
        switch self {
        case .headMismatch(let name, let head, let server):
            "head '\(name)' was trained on other features (\(head)) than the server makes (\(server))"
        }
    }
}

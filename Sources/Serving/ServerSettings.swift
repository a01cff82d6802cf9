import Kernels

/// How `EmbeddingServer` runs: where it listens, what it loads, and its limits.
public struct ServerSettings: Sendable {
    public var model: String
    /// Classifier heads by the name requests use.
    public var heads: [(name: String, directory: String)] = []
    public var host = "127.0.0.1"
    public var port = 8080
    /// Threads of the model's products (one batch at a time runs on them).
    public var threads = 1
    /// The precision of the model's products; nil: the one the heads' features were made with
    /// (`SavedHead.precision`), else the one the checkpoint is stored for (`ModelSource.storedPrecision()`).
    public var precision: Precision?
    /// Most tokens (padded batch tokens not counted) taken into one round of the model.
    public var maxBatchTokens = 16_384
    /// Requests queued or running at once; more are answered 429.
    public var maxConcurrentRequests = 512
    /// Most texts in one request; more are answered 413.
    public var maxClientBatchSize = 32
    /// Most bytes of a request body; more are answered 413.
    public var payloadLimit = 2_000_000
    /// Cut texts longer than the model's limit instead of answering 422 (TEI's `truncate` per request overrides).
    public var autoTruncate = false

    public init(model: String) { self.model = model }
}

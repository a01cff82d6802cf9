import CkptSupport
import Foundation
import HeadTraining
import Hummingbird
import Kernels
import Synchronization
import Transformers

/// The server's routes over a model that may still be loading.
struct Routes: Sendable {
    let slot: ModelSlot
    let metrics: ServerMetrics
    let payloadLimit: Int
    let modelName: String

    func add(to router: Router<BasicRequestContext>) {
        let posts: [(String, @Sendable (JSON, ServingModel) async throws -> String)] = [
            ("/v1/embeddings", openAIEmbeddings), ("/embed", teiEmbed), ("/tokenize", tokenize), ("/predict", predict),
        ]
        for (path, handler) in posts {
            router.post(RouterPath(path)) { request, _ in
                let json = try await body(request)
                return Self.json(try await handler(json, try slot.model()))
            }
        }
        router.get("/health") { _, _ in
            switch slot.state {
            case .ready: return Self.json(#"{"status":"ok"}"#)
            case .loading: throw APIError.loading
            }
        }
        router.get("/info") { _, _ in Self.json(try info(try slot.model())) }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: metrics.text)))
        }
        // The other methods on known paths: 405 with the one allowed.
        let known = posts.map { ($0.0, HTTPRequest.Method.post) } + ["/health", "/info", "/metrics"].map { ($0, HTTPRequest.Method.get) }
        for (path, allowed) in known {
            for method in [HTTPRequest.Method.get, .post, .put, .delete, .patch] where method != allowed {
                router.on(RouterPath(path), method: method) { request, _ -> Response in
                    APIError(status: .methodNotAllowed, type: "method_not_allowed", message: "\(request.method) is not allowed on \(path); use \(allowed)")
                        .response(extraHeaders: [.allow: "\(allowed)"])
                }
            }
        }
    }

    static func json(_ text: String) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// The request's body as a JSON object; over the payload limit 413, not JSON (or not UTF-8) 400.
    private func body(_ request: Request) async throws -> JSON {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > payloadLimit {
            throw APIError.tooLarge("the request body has \(length) bytes; the server takes at most \(payloadLimit)")
        }
        let buffer = try await request.body.collect(upTo: payloadLimit)
        let json: JSON
        do {
            json = try buffer.withUnsafeReadableBytes { try JSON.parse($0) }
        } catch {
            throw APIError.badRequest("the body is not valid JSON: \(error)")
        }
        guard json.object != nil else { throw APIError.badRequest("the body must be a JSON object") }
        return json
    }

    /// A field holding a text or a list of texts.
    private func texts(_ json: JSON, _ field: String) throws -> [String] {
        switch json[field] {
        case .string(let text)?: return [text]
        case .array(let items)?:
            return try items.enumerated().map { i, item in
                guard let text = item.string else { throw APIError.badRequest("'\(field)'[\(i)] must be a string") }
                return text
            }
        case nil: throw APIError.badRequest("'\(field)' is missing")
        default: throw APIError.badRequest("'\(field)' must be a string or a list of strings")
        }
    }

    private func flag(_ json: JSON, _ field: String) throws -> Bool? {
        guard let value = json[field], value != .null else { return nil }
        guard let flag = value.bool else { throw APIError.badRequest("'\(field)' must be true or false") }
        return flag
    }

    private static func floats(_ values: ArraySlice<Float>) -> String { "[" + values.map { "\($0)" }.joined(separator: ",") + "]" }

    /// OpenAI's `POST /v1/embeddings`.
    private func openAIEmbeddings(_ json: JSON, _ model: ServingModel) async throws -> String {
        let texts = try texts(json, "input")
        let format = json["encoding_format"]?.string ?? "float"
        guard ["float", "base64"].contains(format) else { throw APIError.badRequest("'encoding_format' must be float or base64") }
        if let name = json["model"], name.string == nil, name != .null { throw APIError.badRequest("'model' must be a string") }
        let inputs = try model.encodings(texts, truncate: model.settings.autoTruncate)
        let values = try await model.features(inputs)
        let D = model.extractor.dimension, tokens = inputs.reduce(0) { $0 + $1.count }
        let data = (0..<texts.count).map { i -> String in
            let row = values[(i * D)..<((i + 1) * D)]
            let embedding = format == "float" ? Self.floats(row) : "\"" + row.withUnsafeBytes { Data($0) }.base64EncodedString() + "\""
            return #"{"object":"embedding","index":\#(i),"embedding":\#(embedding)}"#
        }
        let name = JSON.string(json["model"]?.string ?? modelName).compactText
        return #"{"object":"list","data":[\#(data.joined(separator: ","))],"model":\#(name),"usage":{"prompt_tokens":\#(tokens),"total_tokens":\#(tokens)}}"#
    }

    /// Text Embeddings Inference's `POST /embed`.
    private func teiEmbed(_ json: JSON, _ model: ServingModel) async throws -> String {
        let texts = try texts(json, "inputs")
        let inputs = try model.encodings(texts, truncate: try flag(json, "truncate") ?? model.settings.autoTruncate)
        let values = try await model.features(inputs, normalize: try flag(json, "normalize") ?? true)
        let D = model.extractor.dimension
        return "[" + (0..<texts.count).map { Self.floats(values[($0 * D)..<(($0 + 1) * D)]) }.joined(separator: ",") + "]"
    }

    /// `POST /tokenize`: per text, its tokens with ids, whether special, and UTF-8 byte offsets.
    private func tokenize(_ json: JSON, _ model: ServingModel) async throws -> String {
        let texts = try texts(json, "inputs")
        try model.checkBatchSize(texts.count)
        let add = try flag(json, "add_special_tokens") ?? true
        let tokenizer = model.extractor.tokenizer
        return "[" + texts.map { text in
            let e = tokenizer.encode(text, addSpecialTokens: add)
            return "[" + e.ids.indices.map { i in
                let token = JSON.string(tokenizer.token(e.ids[i]) ?? "").compactText
                return #"{"id":\#(e.ids[i]),"text":\#(token),"special":\#(e.specialTokensMask[i] == 1),"start":\#(e.offsets[i].lowerBound),"stop":\#(e.offsets[i].upperBound)}"#
            }.joined(separator: ",") + "]"
        }.joined(separator: ",") + "]"
    }

    /// `POST /predict`: per text, every label of the head with its probability, most probable first.
    private func predict(_ json: JSON, _ model: ServingModel) async throws -> String {
        let texts = try texts(json, "inputs")
        let name: String
        if let asked = json["head"]?.string {
            name = asked
        } else if model.heads.count == 1 {
            name = model.heads.keys.first!
        } else {
            throw APIError.badRequest(model.heads.isEmpty ? "the server has no heads; start it with one" : "'head' must name one of: \(model.heads.keys.sorted().joined(separator: ", "))")
        }
        guard let saved = model.heads[name] else {
            throw APIError(status: .notFound, type: "not_found", message: "no head '\(name)'; the server has: \(model.heads.keys.sorted().joined(separator: ", "))")
        }
        let inputs = try model.encodings(texts, truncate: try flag(json, "truncate") ?? model.settings.autoTruncate)
        let values = try await model.features(inputs)
        let features = FeatureMatrix(rows: texts.count, dimension: model.extractor.dimension, values: values)
        let probabilities = try saved.head.probabilities(features, threads: 1)
        let K = saved.head.labels.count
        return "[" + (0..<texts.count).map { row in
            let p = probabilities[(row * K)..<((row + 1) * K)]
            return "[" + Ranking.top(K, of: Array(p)).map { k in
                #"{"label":\#(JSON.string(saved.head.labels[k]).compactText),"score":\#(p[p.startIndex + k])}"#
            }.joined(separator: ",") + "]"
        }.joined(separator: ",") + "]"
    }

    /// `GET /info`.
    private func info(_ model: ServingModel) throws -> String {
        let s = model.settings, e = model.extractor
        let members: [(String, JSON)] = [
            ("model_id", .string(modelName)), ("model_dir", .string(s.model)), ("dimension", .number("\(e.dimension)")),
            ("max_input_length", .number("\(e.maxLength)")), ("pooling", .string(e.settings.modes.map(\.rawValue).joined(separator: "+"))),
            ("normalize", .bool(e.settings.normalize)), ("precision", .string(e.model.precision.rawValue)), ("threads", .number("\(s.threads)")),
            ("max_batch_tokens", .number("\(s.maxBatchTokens)")), ("max_concurrent_requests", .number("\(s.maxConcurrentRequests)")),
            ("max_client_batch_size", .number("\(s.maxClientBatchSize)")), ("payload_limit", .number("\(s.payloadLimit)")),
            ("auto_truncate", .bool(s.autoTruncate)), ("heads", .array(model.heads.keys.sorted().map { .string($0) })),
            ("engine", .string(MatmulEngine.current.rawValue)),
        ]
        return JSON.object(members).compactText
    }
}

/// The model once loaded.
final class ModelSlot: Sendable {
    enum State: Sendable { case loading, ready(ServingModel) }
    private let current = Mutex(State.loading)

    var state: State { current.withLock { $0 } }
    func set(_ state: State) { current.withLock { $0 = state } }

    /// The model, or `APIError.loading`.
    func model() throws -> ServingModel {
        guard case .ready(let model) = state else { throw APIError.loading }
        return model
    }
}

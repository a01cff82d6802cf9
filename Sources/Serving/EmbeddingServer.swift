import CkptSupport
import Foundation
import Hummingbird
import Kernels
import Logging

/// `ckpt serve`: an HTTP server for the embedding, tokenization and head-prediction routes of one
/// model. It listens at once and loads the model in the background (`GET /health` answers 503 until
/// it is ready); SIGTERM or SIGINT stop it accepting connections, the requests in flight are
/// answered, and `run` returns.
public enum EmbeddingServer {
    /// Serves `settings` until a signal stops it. `onEvent` receives one-line notes (listening
    /// address, ready). A model or head that fails to load ends the server with that error.
    public static func run(_ settings: ServerSettings, onEvent: @escaping @Sendable (String) -> Void) async throws {
        let metrics = ServerMetrics(), slot = ModelSlot()
        let router = Router()
        router.add(middleware: MetricsMiddleware(metrics: metrics))
        router.add(middleware: ErrorMiddleware())
        let name = settings.model.split(separator: "/").last.map(String.init) ?? settings.model
        Routes(slot: slot, metrics: metrics, payloadLimit: settings.payloadLimit, modelName: name).add(to: router)
        var logger = Logger(label: "ckpt.serve")
        logger.logLevel = .warning
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "ckpt"),
            onServerRunning: { channel in onEvent("listening on http://\(settings.host):\(channel.localAddress?.port ?? settings.port)") },
            logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService() }
            group.addTask {
                let model = try await Task.detached { try ServingModel(settings: settings, metrics: metrics) }.value
                let precision = model.extractor.model.precision
                if let note = MatmulEngine.current.fallbackNote(precision) { onEvent(note) }
                model.notes.forEach(onEvent)
                slot.set(.ready(model))
                onEvent("ready: \(settings.model) (\(model.extractor.dimension) features, \(precision.rawValue), \(model.heads.count) head(s))")
            }
            // The loader's error (if any) comes first and cancels the server; otherwise the server runs until a signal.
            try await group.next()
            try await group.next()
        }
    }
}

/// Counts each answer by route and status (routes outside the server's own as "other").
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics
    static var routes: Set<String> { ["/v1/embeddings", "/embed", "/tokenize", "/predict", "/info", "/health", "/metrics"] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let route = Self.routes.contains(request.uri.path) ? request.uri.path : "other"
        let response = try await next(request, context)
        metrics.countRequest(route: route, status: response.status.code)
        return response
    }
}

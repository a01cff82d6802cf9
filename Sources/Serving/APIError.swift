import CkptSupport
import HTTPTypes
import Hummingbird

/// An error answered as JSON `{"error": message, "error_type": type}` with its HTTP status.
public struct APIError: Error, Sendable, Equatable {
    public let status: HTTPResponse.Status
    public let type: String
    public let message: String

    static func badRequest(_ message: String) -> APIError { APIError(status: .badRequest, type: "validation", message: message) }
    static func tooLarge(_ message: String) -> APIError { APIError(status: .contentTooLarge, type: "payload_too_large", message: message) }
    static func tooLong(_ message: String) -> APIError { APIError(status: .unprocessableContent, type: "validation", message: message) }
    static let overloaded = APIError(status: .tooManyRequests, type: "overloaded", message: "the server's queue is full; retry later")
    static let loading = APIError(status: .serviceUnavailable, type: "unhealthy", message: "the model is still loading")

    /// The JSON response.
    func response(extraHeaders: HTTPFields = [:]) -> Response {
        let body = JSON.object([("error", .string(message)), ("error_type", .string(type))]).compactText
        var headers = extraHeaders
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

/// Answers every error as `APIError` JSON: the router's 404, a body over the limit (413), anything unexpected (500).
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return error.response()
        } catch let error as any HTTPResponseError {
            let type = error.status == .notFound ? "not_found" : error.status == .contentTooLarge ? "payload_too_large" : "http"
            let message = error.status == .contentTooLarge ? "the request body is larger than the server's payload limit"
                : error.status == .notFound ? "no route \(request.method) \(request.uri.path)" : "\(error.status)"
            return APIError(status: error.status, type: type, message: message).response()
        } catch {
            return APIError(status: .internalServerError, type: "backend", message: "\(error)").response()
        }
    }
}

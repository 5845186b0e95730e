import Foundation
import Hummingbird
import Logging
import OpenAPIRuntime
import SyncCore

/// Turns every error into an RFC 9457 problem+json response with a stable `code`: our own `AppError`s,
/// the generated server's decoding failures (400), Hummingbird's HTTP errors (404 for unknown routes,
/// 413 for oversized bodies) and anything unexpected (500, logged with the request id, no internals).
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let appError = Self.appError(for: error, request: request, logger: context.logger)
            return Self.response(for: appError, requestID: context.requestID, path: request.uri.path)
        }
    }

    static func appError(for error: any Error, request: Request, logger: Logger) -> AppError {
        switch error {
        case let error as AppError:
            return error
        case let error as ServerError:
            if let underlying = error.underlyingError as? AppError { return underlying }
            if (400..<500).contains(error.httpStatus.code) || error.underlyingError is DecodingError {
                return AppError(error.httpStatus == .unsupportedMediaType ? .unsupportedMediaType : .badRequest, Self.describe(error))
            }
            logger.error("handler failed", metadata: ["operation": "\(error.operationID)", "error": "\(String(reflecting: error.underlyingError))"])
            return .internalError
        case let error as HTTPError:
            switch error.status {
            case .notFound, .methodNotAllowed: return .notFound("No route for \(request.method) \(request.uri.path).")
            case .contentTooLarge: return .payloadTooLarge(limit: BodyLimitMiddleware.defaultLimit)
            default:
                if (400..<500).contains(error.status.code) { return AppError(.badRequest, error.body) }
            }
            logger.error("request failed", metadata: ["error": "\(error)"])
            return .internalError
        default:
            logger.error("request failed", metadata: ["error": "\(String(reflecting: error))"])
            return .internalError
        }
    }

    static func response(for error: AppError, requestID: String, path: String) -> Response {
        let document = ProblemDocument(error, requestID: requestID.isEmpty ? nil : requestID, instance: path)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body =
            (try? encoder.encode(document))
            ?? Data(#"{"code":"internal_error","status":500,"title":"Internal server error","type":"about:blank"}"#.utf8)
        var headers = error.headers
        headers[.contentType] = "application/problem+json"
        return Response(status: error.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// A user-facing sentence for a generated-server failure: which parameter or body field was wrong, in the
    /// contract's terms — never a Swift type name or `DecodingError` text.
    private static func describe(_ error: ServerError) -> String {
        if let decoding = error.underlyingError as? DecodingError {
            func at(_ context: DecodingError.Context) -> String {
                let path = context.codingPath.map(\.stringValue).filter { !$0.isEmpty }.joined(separator: ".")
                return path.isEmpty ? "" : " at '\(path.prefix(200))'"
            }
            switch decoding {
            case .dataCorrupted(let context):
                // Swift's sentence for an unknown enum value names our type; keep only the value the caller sent.
                let marker = "from invalid String value "
                if let range = context.debugDescription.range(of: marker) {
                    let value = context.debugDescription[range.upperBound...].prefix(64).filter { !$0.isNewline && $0 != "'" }
                    return "Invalid value '\(value)'\(at(context)): not one of the allowed values."
                }
                guard !context.codingPath.isEmpty else { return "A parameter or the body is malformed (a body must be valid JSON)." }
                return "Invalid value\(at(context)): not in the expected format."
            case .typeMismatch(let type, let context):
                return "Invalid value\(at(context)): expected \(Self.describe(type))."
            case .valueNotFound(let type, let context):
                return "Missing value\(at(context)): expected \(Self.describe(type))."
            case .keyNotFound(let key, _):
                return "Missing required field '\(key.stringValue.prefix(200))'."
            @unknown default:
                return "The request could not be decoded."
            }
        }
        // The runtime's own sentences that name only parameters and media types; anything else (it may print a Swift
        // type, e.g. for a query value that is not a number) gets a plain one.
        let cause = error.causeDescription
        let safe = ["Unexpected content type", "Missing required", "The required header field", "Malformed Accept header"]
        if safe.contains(where: { cause.hasPrefix($0) }), !cause.contains("type '") { return String(cause.prefix(300)) }
        return "A parameter or the body is malformed; see the contract for the expected formats."
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is Int64.Type, is Int32.Type: return "an integer"
        case is Bool.Type: return "true or false"
        case is Double.Type, is Float.Type: return "a number"
        case is String.Type: return "a string"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array<") { return "a list" }
            if name.hasPrefix("Dictionary<") { return "an object" }
            return "a value of the documented kind"
        }
    }
}

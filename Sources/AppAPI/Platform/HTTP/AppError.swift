import Foundation
import HTTPTypes
import SyncCore

/// An expected failure with a stable machine-readable `code`, rendered as RFC 9457 problem+json. Its HTTP status
/// and title come from the code's kind (`HTTPProblem.status(of:)`), in one place for the whole server.
struct AppError: Error, Sendable, Equatable, CustomStringConvertible {
    var code: ProblemCode
    var detail: String?
    /// Field-level problems: `pointer` is a JSON pointer into the body, or a query/path parameter name.
    var errors: [FieldProblem] = []
    /// What the caller may choose instead (free slots when the chosen one is full, …).
    var alternatives: [String] = []
    /// Extra response headers, e.g. `Retry-After`.
    var headers: HTTPFields = [:]

    init(_ code: ProblemCode, _ detail: String?, errors: [FieldProblem] = [], alternatives: [String] = [], headers: HTTPFields = [:]) {
        self.code = code
        self.detail = detail
        self.errors = errors
        self.alternatives = alternatives
        self.headers = headers
    }

    /// A mutator's or workflow's rejection, with its details.
    init(_ rejection: MutationRejection) {
        self.init(rejection.code, rejection.detail, errors: rejection.errors, alternatives: rejection.alternatives)
    }

    var status: HTTPResponse.Status { HTTPProblem.status(of: code.kind) }
    var title: String { HTTPProblem.title(of: code.kind) }

    var description: String { "\(code.rawValue): \(detail ?? "")" }

    static func badRequest(_ detail: String, code: ProblemCode = .badRequest, errors: [FieldProblem] = []) -> AppError {
        AppError(code, detail, errors: errors)
    }

    static func invalidParameter(_ name: String, _ detail: String) -> AppError {
        AppError(.invalidParameter, "Query parameter '\(name)' is invalid: \(detail)", errors: [.init(pointer: name, detail: detail)])
    }

    static func notFound(_ detail: String) -> AppError { AppError(.notFound, detail) }

    static func payloadTooLarge(limit: Int) -> AppError { AppError(.payloadTooLarge, "Request bodies are limited to \(limit) bytes.") }

    static func forbidden(_ detail: String) -> AppError { AppError(.forbidden, detail) }

    static let internalError = AppError(.internalError, "Something went wrong on our side. Quote the request id when reporting it.")

    static func == (lhs: AppError, rhs: AppError) -> Bool {
        lhs.code == rhs.code && lhs.detail == rhs.detail && lhs.errors == rhs.errors && lhs.alternatives == rhs.alternatives
    }
}

/// The one mapping from problem kinds to HTTP.
enum HTTPProblem {
    static func status(of kind: ProblemKind) -> HTTPResponse.Status {
        switch kind {
        case .badRequest: .badRequest
        case .unauthenticated: .unauthorized
        case .forbidden: .forbidden
        case .notFound: .notFound
        case .conflict: .conflict
        case .tooLarge: .contentTooLarge
        case .unsupportedMediaType: .unsupportedMediaType
        case .invalid: .unprocessableContent
        case .tooMany: .tooManyRequests
        case .internal: .internalServerError
        case .unavailable: .serviceUnavailable
        }
    }

    static func title(of kind: ProblemKind) -> String {
        switch kind {
        case .badRequest: "Bad request"
        case .unauthenticated: "Unauthorized"
        case .forbidden: "Forbidden"
        case .notFound: "Not found"
        case .conflict: "Not possible now"
        case .tooLarge: "Payload too large"
        case .unsupportedMediaType: "Unsupported media type"
        case .invalid: "Invalid input"
        case .tooMany: "Too many requests"
        case .internal: "Internal server error"
        case .unavailable: "Service unavailable"
        }
    }
}

/// The problem codes of the HTTP platform (the sync engine's and each domain's are declared beside them).
extension ProblemCode {
    /// The request is malformed.
    static let badRequest = ProblemCode("bad_request", .badRequest)
    /// A query or path parameter is out of range or malformed.
    static let invalidParameter = ProblemCode("invalid_parameter", .badRequest)
    /// The body is over its limit.
    static let payloadTooLarge = ProblemCode("payload_too_large", .tooLarge)
    /// The body's media type is not one the route takes.
    static let unsupportedMediaType = ProblemCode("unsupported_media_type", .unsupportedMediaType)
    /// Idempotency-Key malformed.
    static let invalidIdempotencyKey = ProblemCode("invalid_idempotency_key", .badRequest)
    /// The Idempotency-Key was used for a different request.
    static let idempotencyKeyReused = ProblemCode("idempotency_key_reused", .invalid)
    /// A request with the Idempotency-Key is still being processed.
    static let idempotencyInFlight = ProblemCode("idempotency_in_flight", .conflict)
    /// The database cannot be reached (`/readyz`).
    static let databaseUnreachable = ProblemCode("database_unreachable", .unavailable)
    /// Migrations have not been applied (`/readyz`).
    static let migrationsPending = ProblemCode("migrations_pending", .unavailable)
    /// The request was not completed in time (a trickling body).
    static let requestTimeout = ProblemCode("request_timeout", .badRequest)
    /// Too many requests from this client.
    static let tooManyRequests = ProblemCode("too_many_requests", .tooMany)
    /// The server is at capacity for this kind of work (password checks, anonymous bodies); see `Retry-After`.
    static let serverBusy = ProblemCode("server_busy", .unavailable)
    /// A sync cursor names an unknown scope.
    static let invalidScope = ProblemCode("invalid_scope", .badRequest)
    /// The account may not read or watch the scope.
    static let scopeForbidden = ProblemCode("scope_forbidden", .forbidden)
    /// A malformed sync client id.
    static let invalidClientID = ProblemCode("invalid_client_id", .badRequest)
}

/// The problem+json body, shared by the error middleware and typed handler outputs.
struct ProblemDocument: Codable, Sendable {
    var type: String
    var title: String
    var status: Int
    var detail: String?
    var instance: String?
    var code: String
    var requestId: String?
    var errors: [FieldProblem]?
    var alternatives: [String]?

    static let typeBase = "https://onetrip.hangzhou.gov.cn/problems/"

    init(_ error: AppError, requestID: String?, instance: String?) {
        self.type = Self.typeBase + error.code.rawValue
        self.title = error.title
        self.status = Int(error.status.code)
        self.detail = error.detail
        self.instance = instance
        self.code = error.code.rawValue
        self.requestId = requestID
        self.errors = error.errors.isEmpty ? nil : error.errors
        self.alternatives = error.alternatives.isEmpty ? nil : error.alternatives
    }
}

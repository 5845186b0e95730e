import Foundation
import HTTPTypes

/// An expected failure with a stable machine-readable `code`, rendered as RFC 9457 problem+json.
struct AppError: Error, Sendable, Equatable {
    /// A field-level problem: `pointer` is a JSON pointer into the body, or a query/path parameter name.
    struct FieldError: Sendable, Equatable, Codable {
        var pointer: String
        var detail: String
    }

    var status: HTTPResponse.Status
    var code: String
    var title: String
    var detail: String?
    var errors: [FieldError] = []
    /// Extra response headers, e.g. `Retry-After`.
    var headers: HTTPFields = [:]

    static func badRequest(_ detail: String, code: String = "bad_request", errors: [FieldError] = []) -> AppError {
        AppError(status: .badRequest, code: code, title: "Bad request", detail: detail, errors: errors)
    }

    static func invalidParameter(_ name: String, _ detail: String) -> AppError {
        .badRequest("Query parameter '\(name)' is invalid: \(detail)", code: "invalid_parameter", errors: [.init(pointer: name, detail: detail)])
    }

    static func notFound(_ detail: String) -> AppError {
        AppError(status: .notFound, code: "not_found", title: "Not found", detail: detail)
    }

    static func payloadTooLarge(limit: Int) -> AppError {
        AppError(status: .contentTooLarge, code: "payload_too_large", title: "Payload too large", detail: "Request bodies are limited to \(limit) bytes.")
    }

    static func unavailable(_ detail: String, code: String = "unavailable") -> AppError {
        AppError(status: .serviceUnavailable, code: code, title: "Service unavailable", detail: detail)
    }

    static let internalError = AppError(
        status: .internalServerError, code: "internal_error", title: "Internal server error",
        detail: "Something went wrong on our side. Quote the request id when reporting it."
    )

    static func == (lhs: AppError, rhs: AppError) -> Bool {
        lhs.status == rhs.status && lhs.code == rhs.code && lhs.detail == rhs.detail && lhs.errors == rhs.errors
    }
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
    var errors: [AppError.FieldError]?

    static let typeBase = "https://onetrip.hangzhou.gov.cn/problems/"

    init(_ error: AppError, requestID: String?, instance: String?) {
        self.type = Self.typeBase + error.code
        self.title = error.title
        self.status = Int(error.status.code)
        self.detail = error.detail
        self.instance = instance
        self.code = error.code
        self.requestId = requestID
        self.errors = error.errors.isEmpty ? nil : error.errors
    }
}

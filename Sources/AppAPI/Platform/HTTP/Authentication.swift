import Foundation
import HTTPTypes
import SyncCore

/// Who is calling: what a verified access token says.
struct Identity: Sendable, Equatable {
    var accountID: String
    var kind: AccountRole
    var deviceID: String
    var departmentID: String?
    var centerID: String?
    /// When the token that proved it expires (event streams end then).
    var expiresAt: Date = .distantFuture
}

/// Verifies bearer tokens and answers whether a device is still live: the Identity capability's, injected into the
/// platform so HTTP and sync never name it.
protocol Authenticator: Sendable {
    /// The identity a bearer token proves; throws `AuthenticationFailure`.
    func verify(_ token: String) async throws -> Identity
    /// Whether a device has neither logged out nor been revoked (cached for a few seconds).
    func isActive(deviceID: String) async throws -> Bool
}

/// Why a bearer token was refused: every reason answers 401 `invalid_token`; the reason goes to the logs.
struct AuthenticationFailure: Error, Sendable {
    var expired: Bool
    var reason: String
}

extension APIImplementation {
    /// The caller's identity from the bearer token; 401 without a valid token, 403 when its kind is not allowed.
    func authenticate(_ allowed: Set<AccountRole>? = nil) async throws -> Identity {
        let scope = RequestScope.current
        guard let token = scope?.bearerToken else {
            throw AppError.unauthenticated("This route needs an access token (Authorization: Bearer …).")
        }
        let identity: Identity
        do {
            identity = try await authenticator.verify(token)
        } catch let failure as AuthenticationFailure {
            scope?.logger.info("access token refused", metadata: ["auth.reason": "\(failure.reason)"])
            throw AppError.unauthenticated(
                failure.expired ? "The access token has expired; refresh it." : "The access token is not valid.", code: .invalidToken)
        }
        if let allowed, !allowed.contains(identity.kind) {
            throw AppError.forbidden("A \(identity.kind.rawValue) account cannot use this route.")
        }
        return identity
    }
}

extension AppError {
    static func unauthenticated(_ detail: String, code: ProblemCode = .unauthenticated) -> AppError {
        var headers = HTTPFields()
        headers[.wwwAuthenticate] = code == .invalidToken ? #"Bearer error="invalid_token""# : "Bearer"
        return AppError(code, detail, headers: headers)
    }
}

extension ProblemCode {
    /// No access token was given.
    static let unauthenticated = ProblemCode("unauthenticated", .unauthenticated)
    /// The access token is malformed, expired, revoked or not ours.
    static let invalidToken = ProblemCode("invalid_token", .unauthenticated)
}

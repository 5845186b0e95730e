import HTTPTypes

extension APIImplementation {
    /// The caller's identity from the bearer token; 401 without a valid token, 403 when its kind is not allowed.
    func authenticate(_ allowed: Set<AccountKind>? = nil) async throws -> Identity {
        let scope = RequestScope.current
        guard let token = scope?.bearerToken else {
            throw AppError.unauthenticated("This route needs an access token (Authorization: Bearer …).")
        }
        let identity: Identity
        do {
            identity = try await tokens.verify(token)
        } catch let rejection as TokenRejection {
            scope?.logger.info("access token refused", metadata: ["auth.reason": "\(rejection)"])
            throw AppError.unauthenticated(
                rejection == .expired ? "The access token has expired; refresh it." : "The access token is not valid.", code: "invalid_token")
        }
        if let allowed, !allowed.contains(identity.kind) {
            throw AppError(status: .forbidden, code: "forbidden", title: "Forbidden", detail: "A \(identity.kind.rawValue) account cannot use this route.")
        }
        return identity
    }
}

extension AppError {
    static func unauthenticated(_ detail: String, code: String = "unauthenticated") -> AppError {
        var headers = HTTPFields()
        headers[.wwwAuthenticate] = code == "invalid_token" ? #"Bearer error="invalid_token""# : "Bearer"
        return AppError(status: .unauthorized, code: code, title: "Unauthorized", detail: detail, headers: headers)
    }
}

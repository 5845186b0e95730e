import SyncCore

/// The problem codes of registration, login and tokens.
extension ProblemCode {
    /// Wrong identifier or password (the same answer for both).
    static let invalidCredentials = ProblemCode("invalid_credentials", .unauthenticated)
    static let invalidRefreshToken = ProblemCode("invalid_refresh_token", .unauthenticated)
    /// A used refresh token came back: the device's session was revoked.
    static let refreshTokenReused = ProblemCode("refresh_token_reused", .unauthenticated)
    static let refreshTokenExpired = ProblemCode("refresh_token_expired", .unauthenticated)
    /// Too many failed logins, or registrations from one network; see `Retry-After`.
    static let tooManyAttempts = ProblemCode("too_many_attempts", .tooMany)
    /// A staff account with a taken username (registration answers taken and free identifiers alike).
    static let accountExists = ProblemCode("account_exists", .conflict)
    /// A login names not exactly one identifier.
    static let invalidIdentifier = ProblemCode("invalid_identifier", .badRequest)
    static let invalidIDNumber = ProblemCode("invalid_id_number", .invalid)
    static let invalidCreditCode = ProblemCode("invalid_credit_code", .invalid)
    static let invalidPhone = ProblemCode("invalid_phone", .invalid)
    static let invalidName = ProblemCode("invalid_name", .invalid)
    static let invalidKind = ProblemCode("invalid_kind", .invalid)
    static let invalidUsername = ProblemCode("invalid_username", .invalid)
    static let invalidDeviceName = ProblemCode("invalid_device_name", .invalid)
    static let weakPassword = ProblemCode("weak_password", .invalid)
    static let invalidPublicKey = ProblemCode("invalid_public_key", .invalid)
    static let unknownDepartment = ProblemCode("unknown_department", .invalid)
    static let unknownCenter = ProblemCode("unknown_center", .invalid)
    /// Several fields are wrong at once (each named in `errors`).
    static let validationFailed = ProblemCode("validation_failed", .invalid)
}

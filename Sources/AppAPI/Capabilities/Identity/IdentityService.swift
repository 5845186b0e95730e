import Crypto
import Foundation
import HTTPTypes
import Logging
import SQLKit
import SyncCore

/// Registration, login, token rotation and device management.
struct IdentityService: Sendable {
    let database: any Database
    let accounts: AccountRepository
    let tokens: TokenService
    let hasher: PasswordHasher
    let throttle: LoginThrottle

    init(database: any Database, tokens: TokenService, bcryptCost: UInt8) {
        self.database = database
        self.accounts = AccountRepository(database: database)
        self.tokens = tokens
        self.hasher = PasswordHasher(cost: bcryptCost)
        self.throttle = LoginThrottle(database: database)
    }

    /// What a successful login or refresh hands the device.
    struct Session: Sendable {
        var accessToken: String
        var refreshToken: String
        var expiresIn: Int
        var device: Device
        var account: Account
    }

    struct DeviceRegistration: Sendable {
        var name: String
        var platform: Platform
        var publicJWK: String?
    }

    // MARK: Registration

    func register(kind: AccountKind, idNumber: String?, creditCode: String?, name: String, phone: String, password: String) async throws -> Account {
        var problems = FieldProblems()
        var normalisedID: String?
        var normalisedCode: String?
        switch kind {
        case .citizen:
            if creditCode != nil { problems.add("/creditCode", "is only for enterprises", code: .invalidCreditCode) }
            do {
                normalisedID = try ResidentIDNumber(idNumber ?? "").rawValue
            } catch {
                problems.add("/idNumber", Self.describe(error), code: .invalidIDNumber)
            }
        case .enterprise:
            if idNumber != nil { problems.add("/idNumber", "is only for citizens", code: .invalidIDNumber) }
            do {
                normalisedCode = try CreditCode(creditCode ?? "").rawValue
            } catch {
                problems.add("/creditCode", Self.describe(error), code: .invalidCreditCode)
            }
        default:
            problems.add("/kind", "must be citizen or enterprise", code: .invalidKind)
        }
        Self.checkCommon(name: name, phone: phone, required: true, into: &problems)
        for problem in PasswordPolicy.problems(password, personal: [idNumber, creditCode, phone].compactMap { $0 }) {
            problems.add("/password", problem, code: .weakPassword)
        }
        try problems.throwIfAny()
        let account = Account(
            id: Account.newID(), kind: kind, idNumber: normalisedID, creditCode: normalisedCode, name: name, phone: phone,
            passwordHash: try await hasher.hash(password), createdAt: Clock.nowMillis()
        )
        try await accounts.create(account)
        return account
    }

    func createStaff(
        kind: AccountKind, username: String, name: String, phone: String?, password: String, departmentID: String?, centerID: String?
    ) async throws -> Account {
        var problems = FieldProblems()
        if ![.clerk, .admin, .kiosk].contains(kind) { problems.add("/kind", "must be clerk, admin or kiosk", code: .invalidKind) }
        if username.range(of: #"^[a-z0-9][a-z0-9._-]{2,63}$"#, options: .regularExpression) == nil {
            problems.add("/username", "3–64 characters: a-z, 0-9, '.', '_' or '-'", code: .invalidUsername)
        }
        Self.checkCommon(name: name, phone: phone, required: false, into: &problems)
        for problem in PasswordPolicy.problems(password, personal: [phone].compactMap { $0 }) {
            problems.add("/password", problem, code: .weakPassword)
        }
        let references = try await database.read { db in
            (
                department: try await departmentID.asyncMap { id in
                    PathID.isPlausible(id) ? try await ChangeLog.entity(Department.self, id: id, in: .public, on: db) != nil : false
                },
                center: try await centerID.asyncMap { id in
                    PathID.isPlausible(id) ? try await ChangeLog.entity(ServiceCenter.self, id: id, in: .public, on: db) != nil : false
                }
            )
        }
        if kind == .clerk && references.department != true { problems.add("/departmentId", "a clerk needs a known department", code: .unknownDepartment) }
        if kind == .kiosk && references.center != true { problems.add("/centerId", "a kiosk needs a known service centre", code: .unknownCenter) }
        try problems.throwIfAny()
        let account = Account(
            id: Account.newID(), kind: kind, username: username, name: name, phone: phone, passwordHash: try await hasher.hash(password),
            departmentID: kind == .clerk ? departmentID : nil, centerID: kind == .kiosk || kind == .clerk ? centerID : nil, createdAt: Clock.nowMillis()
        )
        try await accounts.create(account)
        return account
    }

    // MARK: Login and tokens

    func login(_ identifier: AccountRepository.Identifier, password: String, device registration: DeviceRegistration, address: String?) async throws -> Session {
        if let retryAfter = try await throttle.retryAfter(identifier: identifier.value, address: address) {
            var headers = HTTPFields()
            headers[.retryAfter] = String(retryAfter)
            throw AppError(.tooManyAttempts, "Too many failed logins. Try again in \(retryAfter) seconds.", headers: headers)
        }
        let account = try await accounts.account(identifiedBy: identifier)
        let matches = try await hasher.verify(password, hash: account?.passwordHash ?? PasswordHasher.decoyHash)
        guard let account, matches, Self.identifier(identifier, fits: account.kind) else {
            try await throttle.recordFailure(identifier: identifier.value, address: address)
            throw AppError(.invalidCredentials, "The identifier or the password is wrong.")
        }
        try await throttle.recordSuccess(identifier: identifier.value)
        let now = Clock.nowMillis()
        let device = Device(
            id: Device.newID(), accountID: account.id, name: registration.name, platform: registration.platform, publicJWK: registration.publicJWK,
            createdAt: now, lastSeenAt: now
        )
        let refresh = TokenService.makeRefreshToken()
        try await database.transaction { [accounts] db in
            try await accounts.insertDevice(device, on: db)
            try await accounts.insertRefreshToken(hash: refresh.hash, deviceID: device.id, expiresAt: Self.refreshExpiry(from: now), on: db)
        }
        let access = try await tokens.issueAccessToken(for: account, device: device)
        return Session(accessToken: access.token, refreshToken: refresh.token, expiresIn: access.expiresIn, device: device, account: account)
    }

    /// Rotates a refresh token. A token used twice revokes its device's whole family: one of the two users is a thief.
    func refresh(_ token: String, logger: Logger?) async throws -> Session {
        enum Outcome: Sendable {
            case rotated(Device, newToken: String)
            case reused(deviceID: String)
            case invalid(code: ProblemCode, detail: String)
        }
        let hash = TokenService.hashRefreshToken(token)
        let outcome: Outcome = try await database.transaction { [accounts] db in
            guard let row = try await accounts.refreshToken(hash: hash, on: db),
                let device = try await accounts.device(id: row.deviceID, on: db), device.revokedAt == nil
            else {
                return .invalid(code: .invalidRefreshToken, detail: "The refresh token is not valid. Log in again.")
            }
            guard row.usedAt == nil, try await accounts.markUsed(hash: hash, on: db) else {
                try await accounts.revoke(deviceID: device.id, on: db)
                return .reused(deviceID: device.id)
            }
            let now = Clock.nowMillis()
            guard row.expiresAt > now else {
                return .invalid(code: .refreshTokenExpired, detail: "The session has expired. Log in again.")
            }
            let next = TokenService.makeRefreshToken()
            try await accounts.insertRefreshToken(hash: next.hash, deviceID: device.id, expiresAt: Self.refreshExpiry(from: now), on: db)
            try await accounts.touch(deviceID: device.id, on: db)
            return .rotated(device, newToken: next.token)
        }
        switch outcome {
        case .invalid(let code, let detail):
            throw AppError(code, detail)
        case .reused(let deviceID):
            tokens.deviceRevoked(deviceID)
            logger?.warning("refresh token reused; device revoked", metadata: ["device.id": "\(deviceID)"])
            throw AppError(.refreshTokenReused, "This refresh token was already used, so the device's session was revoked. Log in again.")
        case .rotated(let device, let newToken):
            guard let account = try await accounts.account(id: device.accountID) else {
                throw AppError(.invalidRefreshToken, "The account no longer exists.")
            }
            let access = try await tokens.issueAccessToken(for: account, device: device)
            return Session(accessToken: access.token, refreshToken: newToken, expiresIn: access.expiresIn, device: device, account: account)
        }
    }

    /// Revokes one of `identity`'s devices; 404 when it is not theirs.
    func revokeDevice(_ deviceID: String, of identity: Identity) async throws {
        let found = try await database.transaction { [accounts] db in
            guard let device = try await accounts.device(id: deviceID, on: db), device.accountID == identity.accountID else { return false }
            try await accounts.revoke(deviceID: deviceID, on: db)
            return true
        }
        guard found else { throw AppError.notFound("You have no device with the id '\(deviceID)'.") }
        tokens.deviceRevoked(deviceID)
    }

    // MARK: Helpers

    private static func refreshExpiry(from now: Int) -> Int { now + Int(TokenService.refreshTokenLifetime.components.seconds) * 1000 }

    private static func identifier(_ identifier: AccountRepository.Identifier, fits kind: AccountKind) -> Bool {
        switch identifier {
        case .idNumber: kind == .citizen
        case .creditCode: kind == .enterprise
        case .username: [.clerk, .admin, .kiosk].contains(kind)
        }
    }

    private static func checkCommon(name: String, phone: String?, required: Bool, into problems: inout FieldProblems) {
        if name.trimmingCharacters(in: .whitespaces).isEmpty || name.count > 64 { problems.add("/name", "must be 1 to 64 characters", code: .invalidName) }
        if let phone, phone.range(of: #"^1[3-9][0-9]{9}$"#, options: .regularExpression) == nil {
            problems.add("/phone", "must be an 11-digit mainland mobile number", code: .invalidPhone)
        } else if phone == nil && required {
            problems.add("/phone", "is required", code: .invalidPhone)
        }
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case ResidentIDNumber.Problem.length, CreditCode.Problem.length: "must be 18 characters"
        case ResidentIDNumber.Problem.characters: "must be 17 digits followed by a digit or X"
        case CreditCode.Problem.characters: "may only use 0-9 and A-Z without I, O, S, V and Z"
        case ResidentIDNumber.Problem.birthDate: "contains a birth date that does not exist"
        default: "has a wrong check character"
        }
    }
}

/// Field-level validation problems, thrown together as one 422 so the app can mark every field at once.
/// The `code` is the problem's own when there is one, `validation_failed` when there are several.
struct FieldProblems {
    private var errors: [FieldProblem] = []
    private var codes: [ProblemCode] = []

    mutating func add(_ pointer: String, _ detail: String, code: ProblemCode) {
        errors.append(.init(pointer: pointer, detail: detail))
        codes.append(code)
    }

    func throwIfAny() throws {
        guard !errors.isEmpty else { return }
        let code = Set(codes).count == 1 ? codes[0] : ProblemCode.validationFailed
        let summary = errors.map { "\($0.pointer.dropFirst()) \($0.detail)" }.joined(separator: "; ")
        throw AppError(code, summary, errors: errors)
    }
}


extension IdentityService {
    /// The account's own entities, as mutators reach them: its profile and messages, in its `user:` scope.
    static let persisters: [any EntityPersister] = [ChangeLogPersister(.profile, home: .owner), ChangeLogPersister(.message, home: .owner)]
}

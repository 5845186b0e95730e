import Crypto
import Foundation
import HTTPTypes
import Logging
import SQLKit
import SyncCore

/// Registration, login, token rotation and device management.
struct IdentityService: Sendable {
    let database: any Database
    let accounts: AccountStore
    let tokens: TokenService
    let hasher: PasswordHasher
    let limiter: AttemptLimiter
    let throttle: LoginThrottle
    let registrations: RegistrationThrottle
    let runtime: Runtime

    init(database: any Database, tokens: TokenService, hasher: PasswordHasher, registrationsPerHour: Int, runtime: Runtime) {
        self.database = database
        self.accounts = AccountStore(database: database)
        self.tokens = tokens
        self.hasher = hasher
        self.limiter = AttemptLimiter(database: database, runtime: runtime)
        self.throttle = LoginThrottle(limiter: limiter)
        self.registrations = RegistrationThrottle(limiter: limiter, perHour: registrationsPerHour)
        self.runtime = runtime
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

    /// How long after a refresh token was used a second use still gets a fresh pair (a retried or concurrent refresh
    /// of the same token), as long as nothing later in the family has been used; any other reuse revokes the family.
    static let refreshReuseGrace: Duration = .seconds(30)

    // MARK: Registration

    /// Registers an account, answering alike whether the identifier was free or taken (so registration tells nobody
    /// who has an account): a taken identifier does no hash but waits as long as one, and creates nothing.
    func register(kind: AccountKind, idNumber: String?, creditCode: String?, name: String, phone: String, password: String, network: String?)
        async throws
    {
        var problems = FieldProblems()
        var identifier: AccountStore.Identifier?
        switch kind {
        case .citizen:
            if creditCode != nil { problems.add("/creditCode", "is only for enterprises", code: .invalidCreditCode) }
            do {
                identifier = .idNumber(try ResidentIDNumber(Self.bounded(idNumber)).rawValue)
            } catch {
                problems.add("/idNumber", Self.describe(error), code: .invalidIDNumber)
            }
        case .enterprise:
            if idNumber != nil { problems.add("/idNumber", "is only for citizens", code: .invalidIDNumber) }
            do {
                identifier = .creditCode(try CreditCode(Self.bounded(creditCode)).rawValue)
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
        guard let identifier else { return }
        try await registrations.reserve(network: network)
        if try await accounts.account(identifiedBy: identifier) != nil {
            try await Self.unlessBusy { try await hasher.imitateHash() }
            return
        }
        let passwordHash = try await Self.unlessBusy { try await hasher.hash(password) }
        let account = Account(
            id: Account.newID(), kind: kind, idNumber: kind == .citizen ? identifier.value : nil,
            creditCode: kind == .enterprise ? identifier.value : nil,
            name: name, phone: phone, passwordHash: passwordHash, createdAt: runtime.now()
        )
        do {
            try await accounts.create(account)
        } catch let error as AppError where error.code == .accountExists {
            // Registered a moment ago by a parallel request: the same answer as any taken identifier.
        }
    }

    func createStaff(
        kind: AccountKind, username: String, name: String, phone: String?, password: String, departmentID: String?, centerID: String?
    ) async throws -> Account {
        var problems = FieldProblems()
        if ![.clerk, .admin, .kiosk].contains(kind) { problems.add("/kind", "must be clerk, admin or kiosk", code: .invalidKind) }
        if !IdentityInput.isUsername(username) {
            problems.add("/username", "3–64 characters: a-z, 0-9, '.', '_' or '-', starting with a letter or digit", code: .invalidUsername)
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
        if kind == .clerk && references.department != true {
            problems.add("/departmentId", "a clerk needs a known department", code: .unknownDepartment)
        }
        if kind == .kiosk && references.center != true { problems.add("/centerId", "a kiosk needs a known service centre", code: .unknownCenter) }
        try problems.throwIfAny()
        let passwordHash = try await Self.unlessBusy { try await hasher.hash(password) }
        let account = Account(
            id: Account.newID(), kind: kind, username: username, name: name, phone: phone, passwordHash: passwordHash,
            departmentID: kind == .clerk ? departmentID : nil, centerID: kind == .kiosk || kind == .clerk ? centerID : nil, createdAt: runtime.now()
        )
        try await accounts.create(account)
        return account
    }

    // MARK: Login and tokens

    /// Logs in on a new device. The attempt is counted before the password is checked (`LoginThrottle`), and an
    /// unknown identifier is checked against a decoy hash of the same cost, so both answer alike and in the same time.
    func login(_ identifier: AccountStore.Identifier, password: String, device registration: DeviceRegistration, network: String?) async throws
        -> Session
    {
        let reservation = try await throttle.reserve(identifier: identifier.value, network: network)
        let account: Account?
        let matches: Bool
        do {
            account = IdentityInput.isStorableIdentifier(identifier.value) ? try await accounts.account(identifiedBy: identifier) : nil
            matches = try await Self.unlessBusy { try await hasher.verify(password, hash: account?.passwordHash) }
        } catch {
            try? await limiter.cancelled(reservation)
            throw error
        }
        guard let account, matches, Self.identifier(identifier, fits: account.kind) else {
            try await limiter.failed(reservation)
            throw AppError(.invalidCredentials, "The identifier or the password is wrong.")
        }
        try await limiter.succeeded(reservation)
        let now = runtime.now()
        let device = Device(
            id: Device.newID(), accountID: account.id, name: registration.name, platform: registration.platform, publicJWK: registration.publicJWK,
            createdAt: now, lastSeenAt: now
        )
        let refresh = TokenService.makeRefreshToken()
        try await database.transaction { [accounts] db in
            try await accounts.insertDevice(device, on: db)
            try await accounts.insertRefreshToken(
                hash: refresh.hash, deviceID: device.id, expiresAt: Self.refreshExpiry(from: now), createdAt: now, on: db)
        }
        let access = try await tokens.issueAccessToken(for: account, device: device)
        return Session(accessToken: access.token, refreshToken: refresh.token, expiresIn: access.expiresIn, device: device, account: account)
    }

    /// Rotates a refresh token. A token used twice revokes its device's whole family — one of the two users is a
    /// thief — unless the second use comes within `refreshReuseGrace` of the first and the family has not moved on
    /// since: that is a retry (a lost response, two requests racing), and it gets a fresh pair too.
    func refresh(_ token: String, logger: Logger?) async throws -> Session {
        enum Outcome: Sendable {
            case rotated(Device, newToken: String)
            case reused(deviceID: String)
            case invalid(code: ProblemCode, detail: String)
        }
        let hash = TokenService.hashRefreshToken(token)
        let now = runtime.now()
        let grace = Int(Self.refreshReuseGrace.components.seconds) * 1000
        let outcome: Outcome = try await database.transaction { [accounts] db in
            guard let row = try await accounts.refreshToken(hash: hash, on: db),
                let device = try await accounts.device(id: row.deviceID, on: db), device.revokedAt == nil
            else {
                return .invalid(code: .invalidRefreshToken, detail: "The refresh token is not valid. Log in again.")
            }
            let firstUse = row.usedAt == nil ? try await accounts.markUsed(hash: hash, at: now, on: db) : false
            if !firstUse {
                // Read again: a concurrent refresh may have used it after our first read (Postgres, READ COMMITTED).
                let usedAt = try await accounts.refreshToken(hash: hash, on: db)?.usedAt ?? now
                let movedOn = try await accounts.familyMovedOn(deviceID: device.id, since: usedAt, besides: hash, on: db)
                guard now - usedAt <= grace && !movedOn else {
                    try await accounts.revoke(deviceID: device.id, at: now, on: db)
                    return .reused(deviceID: device.id)
                }
            }
            guard row.expiresAt > now else {
                return .invalid(code: .refreshTokenExpired, detail: "The session has expired. Log in again.")
            }
            let next = TokenService.makeRefreshToken()
            try await accounts.insertRefreshToken(
                hash: next.hash, deviceID: device.id, expiresAt: Self.refreshExpiry(from: now), createdAt: now, on: db)
            try await accounts.touch(deviceID: device.id, at: now, on: db)
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
        guard PathID.isPlausible(deviceID) else { throw AppError.notFound("You have no device with the id '\(deviceID.prefix(64))'.") }
        let found = try await database.transaction { [accounts] db in
            guard let device = try await accounts.device(id: deviceID, on: db), device.accountID == identity.accountID else { return false }
            try await accounts.revoke(deviceID: deviceID, at: runtime.now(), on: db)
            return true
        }
        guard found else { throw AppError.notFound("You have no device with the id '\(deviceID.prefix(64))'.") }
        tokens.deviceRevoked(deviceID)
    }

    // MARK: Helpers

    private static func refreshExpiry(from now: Int) -> Int { now + Int(TokenService.refreshTokenLifetime.components.seconds) * 1000 }

    private static func identifier(_ identifier: AccountStore.Identifier, fits kind: AccountKind) -> Bool {
        switch identifier {
        case .idNumber: kind == .citizen
        case .creditCode: kind == .enterprise
        case .username: [.clerk, .admin, .kiosk].contains(kind)
        }
    }

    /// A bcrypt pool that is full answers 503 `server_busy` with `Retry-After`, for logins and registrations alike.
    private static func unlessBusy<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let busy as BcryptPool.Overloaded {
            var headers = HTTPFields()
            headers[.retryAfter] = String(busy.retryAfter)
            throw AppError(.serverBusy, "Too many password checks are waiting. Try again in \(busy.retryAfter) seconds.", headers: headers)
        }
    }

    /// An identifier cut to a length that cannot be valid, before the checks look at every character.
    private static func bounded(_ value: String?) -> String {
        guard let value else { return "" }
        return value.utf8.count <= 4 * IdentityInput.identifierLength ? value : String(repeating: "?", count: IdentityInput.identifierLength + 1)
    }

    private static func checkCommon(name: String, phone: String?, required: Bool, into problems: inout FieldProblems) {
        if !IdentityInput.isDisplayText(name, maxLength: IdentityInput.maxNameLength) {
            problems.add("/name", "must be 1 to 64 characters, without control characters", code: .invalidName)
        }
        if let phone, !IdentityInput.isMobilePhone(phone) {
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

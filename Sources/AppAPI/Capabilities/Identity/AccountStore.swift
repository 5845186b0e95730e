import Foundation
import SQLKit
import SyncCore

/// Accounts, devices and refresh tokens in SQL.
struct AccountStore: Sendable {
    let database: any Database

    enum Identifier: Sendable, Equatable {
        case idNumber(String)
        case creditCode(String)
        case username(String)

        var column: String {
            switch self {
            case .idNumber: "id_number"
            case .creditCode: "credit_code"
            case .username: "username"
            }
        }

        var value: String {
            switch self {
            case .idNumber(let v), .creditCode(let v), .username(let v): v
            }
        }
    }

    /// Inserts `account`; throws `account_exists` (409) when its identifier is taken.
    func create(_ account: Account) async throws {
        do {
            try await database.transaction { db in try await Self.insert(account, on: db) }
        } catch let error where isUniqueViolation(error) {
            throw AppError(.accountExists, "An account with this identifier already exists.")
        }
    }

    /// Inserts the account and publishes its profile and a welcome message into its `user:` scope.
    static func insert(_ account: Account, on db: any SQLDatabase) async throws {
        try await db.insert(into: "accounts")
            .columns(
                "id", "kind", "id_number", "credit_code", "username", "name", "phone", "password_hash", "department_id", "center_id", "created_at"
            )
            .values(
                SQLBind(account.id), SQLBind(account.kind.rawValue), SQLBind(account.idNumber), SQLBind(account.creditCode),
                SQLBind(account.username), SQLBind(account.name), SQLBind(account.phone), SQLBind(account.passwordHash),
                SQLBind(account.departmentID), SQLBind(account.centerID), SQLBind(account.createdAt)
            )
            .run()
        let scope = Scope.user(account.id)
        let profile = Profile(id: account.id, name: account.name, kind: account.kind.rawValue)
        let welcome = Message(
            id: "msg_welcome_\(account.id)", title: "欢迎使用移动办事之城",
            body: "“最多跑一次”：大部分事项可在手机上办理，需要到现场的最多跑一次。办件进度、缴费和电子证照都会在这里通知您。",
            category: "welcome", createdAt: Int64(account.createdAt)
        )
        try await ChangeLog.append(
            [try .upsert(profile, id: profile.id, type: .profile, in: scope), try .upsert(welcome, id: welcome.id, type: .message, in: scope)], on: db
        )
    }

    func account(id: String) async throws -> Account? {
        try await database.read { db in
            try await db.select().column("*").from("accounts").where("id", .equal, id).first().map(Self.decodeAccount)
        }
    }

    func account(identifiedBy identifier: Identifier) async throws -> Account? {
        // Every identifier an account can have is visible ASCII; anything else (a NUL) matches no one and never reaches SQL.
        guard PathID.isPlausible(identifier.value) else { return nil }
        return try await database.read { db in
            try await db.select().column("*").from("accounts").where(SQLIdentifier(identifier.column), .equal, SQLBind(identifier.value)).first()
                .map(Self.decodeAccount)
        }
    }

    func exists(_ identifier: Identifier, on db: any SQLDatabase) async throws -> Bool {
        try await db.select().column("id").from("accounts").where(SQLIdentifier(identifier.column), .equal, SQLBind(identifier.value)).first() != nil
    }

    // MARK: Devices

    func insertDevice(_ device: Device, on db: any SQLDatabase) async throws {
        try await db.insert(into: "devices")
            .columns("id", "account_id", "name", "platform", "public_jwk", "created_at", "last_seen_at", "revoked_at")
            .values(
                SQLBind(device.id), SQLBind(device.accountID), SQLBind(device.name), SQLBind(device.platform.rawValue), SQLBind(device.publicJWK),
                SQLBind(device.createdAt), SQLBind(device.lastSeenAt), SQLBind(device.revokedAt)
            )
            .run()
    }

    func devices(of accountID: String) async throws -> [Device] {
        try await database.read { db in
            try await db.select().column("*").from("devices").where("account_id", .equal, accountID).orderBy("created_at").all().map(
                Self.decodeDevice)
        }
    }

    /// An account and the public keys of its live devices (newest first), read inside the caller's transaction.
    static func accountWithDeviceKeys(_ accountID: String, on db: any SQLDatabase) async throws -> (account: Account, deviceKeys: [String])? {
        guard let account = try await db.select().column("*").from("accounts").where("id", .equal, accountID).first().map(decodeAccount) else {
            return nil
        }
        let keys = try await db.select().column("public_jwk").from("devices").where("account_id", .equal, accountID)
            .where("revoked_at", .is, SQLLiteral.null).where("public_jwk", .isNot, SQLLiteral.null).orderBy("created_at", .descending)
            .limit(16).all(decodingColumn: "public_jwk", as: String.self)
        return (account, keys)
    }

    func device(id: String, on db: any SQLDatabase) async throws -> Device? {
        try await db.select().column("*").from("devices").where("id", .equal, id).first().map(Self.decodeDevice)
    }

    /// Whether the device is revoked (or unknown), read fresh from the database.
    func isRevoked(deviceID: String) async throws -> Bool {
        try await database.read { db in
            guard let row = try await db.select().column("revoked_at").from("devices").where("id", .equal, deviceID).first() else { return true }
            return try row.decode(column: "revoked_at", as: Int?.self) != nil
        }
    }

    /// Revokes a device and with it its whole refresh-token family.
    func revoke(deviceID: String, at now: Int, on db: any SQLDatabase) async throws {
        try await db.update("devices").set("revoked_at", to: now).where("id", .equal, deviceID).where("revoked_at", .is, SQLLiteral.null).run()
        try await db.update("refresh_tokens").set("used_at", to: now).where("device_id", .equal, deviceID).where("used_at", .is, SQLLiteral.null)
            .run()
    }

    // MARK: Refresh tokens

    struct RefreshTokenRow: Sendable {
        var deviceID: String
        var expiresAt: Int
        var usedAt: Int?
    }

    func insertRefreshToken(hash: String, deviceID: String, expiresAt: Int, createdAt: Int, on db: any SQLDatabase) async throws {
        try await db.insert(into: "refresh_tokens").columns("token_hash", "device_id", "expires_at", "used_at", "created_at")
            .values(SQLBind(hash), SQLBind(deviceID), SQLBind(expiresAt), SQLBind(Int?.none), SQLBind(createdAt))
            .run()
    }

    func refreshToken(hash: String, on db: any SQLDatabase) async throws -> RefreshTokenRow? {
        try await db.select().columns("device_id", "expires_at", "used_at").from("refresh_tokens").where("token_hash", .equal, hash).first().map {
            RefreshTokenRow(
                deviceID: try $0.decode(column: "device_id", as: String.self), expiresAt: try $0.decode(column: "expires_at", as: Int.self),
                usedAt: try $0.decode(column: "used_at", as: Int?.self)
            )
        }
    }

    /// Marks a refresh token used; false when another request used it first.
    func markUsed(hash: String, at now: Int, on db: any SQLDatabase) async throws -> Bool {
        let rows = try await db.raw(
            "UPDATE refresh_tokens SET used_at = \(bind: now) WHERE token_hash = \(bind: hash) AND used_at IS NULL RETURNING token_hash"
        ).all()
        return !rows.isEmpty
    }

    /// Whether another refresh token of the device, issued at or after `since`, has been used (the family moved on).
    func familyMovedOn(deviceID: String, since: Int, besides hash: String, on db: any SQLDatabase) async throws -> Bool {
        try await db.raw(
            """
            SELECT token_hash FROM refresh_tokens
            WHERE device_id = \(bind: deviceID) AND created_at >= \(bind: since) AND used_at IS NOT NULL AND token_hash <> \(bind: hash) LIMIT 1
            """
        ).first() != nil
    }

    func touch(deviceID: String, at now: Int, on db: any SQLDatabase) async throws {
        try await db.update("devices").set("last_seen_at", to: now).where("id", .equal, deviceID).run()
    }

    // MARK: Decoding

    static func decodeAccount(_ row: any SQLRow) throws -> Account {
        Account(
            id: try row.decode(column: "id", as: String.self),
            kind: AccountKind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .citizen,
            idNumber: try row.decode(column: "id_number", as: String?.self),
            creditCode: try row.decode(column: "credit_code", as: String?.self),
            username: try row.decode(column: "username", as: String?.self),
            name: try row.decode(column: "name", as: String.self),
            phone: try row.decode(column: "phone", as: String?.self),
            passwordHash: try row.decode(column: "password_hash", as: String.self),
            departmentID: try row.decode(column: "department_id", as: String?.self),
            centerID: try row.decode(column: "center_id", as: String?.self),
            createdAt: try row.decode(column: "created_at", as: Int.self)
        )
    }

    static func decodeDevice(_ row: any SQLRow) throws -> Device {
        Device(
            id: try row.decode(column: "id", as: String.self),
            accountID: try row.decode(column: "account_id", as: String.self),
            name: try row.decode(column: "name", as: String.self),
            platform: Platform(rawValue: try row.decode(column: "platform", as: String.self)) ?? .cli,
            publicJWK: try row.decode(column: "public_jwk", as: String?.self),
            createdAt: try row.decode(column: "created_at", as: Int.self),
            lastSeenAt: try row.decode(column: "last_seen_at", as: Int?.self),
            revokedAt: try row.decode(column: "revoked_at", as: Int?.self)
        )
    }
}

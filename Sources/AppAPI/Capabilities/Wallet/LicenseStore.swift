import Crypto
import Foundation
import SQLKit
import SyncCore

/// Who a license is issued to, as the wallet asks Identity (a seam wired in `buildApplication`).
struct LicenseHolder: Sendable, Equatable {
    var name: String
    var idNumber: String?
    var creditCode: String?
    /// The public keys of the holder's active devices, newest first: copies are bound to them in turn.
    var deviceKeys: [ECPublicJWK]
}

/// Answers "who is this account, and which device keys does it hold?" inside the caller's transaction.
struct LicenseHolders: Sendable {
    let holder: @Sendable (_ accountID: String, _ db: any SQLDatabase) async throws -> LicenseHolder?
}

/// Licenses: issuance into a holder's wallet, their state (valid, suspended, revoked, superseded) and the status
/// lists that carry it. The license entity lives in the holder's `user:` scope; the `licenses` and `license_copies`
/// rows index it for status changes, verification and supersession.
struct LicenseStore: Sendable {
    let database: any Database
    let keys: IssuerKeyStore
    let statusLists: StatusListStore
    let holders: LicenseHolders
    let runtime: Runtime
    /// SD-JWT copies per license: each presentation uses an unused one, so verifiers cannot link them.
    var batchSize = 4

    static let maxBatchSize = 16

    struct Issue: Sendable {
        var type: LicenseType
        var department: Department?
        var accountID: String
        var caseID: String?
        var form: [String: String] = [:]
        /// Claims given whole (seeded holdings); `nil` resolves them from the form and the holder.
        var fields: [String: String]?
        /// A fixed id, issue time and expiry (seeded holdings issued before OneTrip); `nil`: new, now, by the type.
        var id: String?
        var issuedAt: Int?
        var expiresAt: Int?
    }

    /// Issues a license into the holder's wallet inside the caller's transaction; returns it and the records to
    /// append (the license, and any status list opened for it). A case that already issued one issues no second.
    func issue(_ request: Issue, on db: any SQLDatabase) async throws -> (license: License, records: [ChangeRecord])? {
        if let caseID = request.caseID,
            try await db.select().column("id").from("licenses").where("case_id", .equal, caseID).first() != nil
        {
            return nil
        }
        if let id = request.id, try await db.select().column("id").from("licenses").where("id", .equal, id).first() != nil { return nil }
        guard let holder = try await holders.holder(request.accountID, db) else { throw WalletError.unknownHolder(request.accountID) }
        let type = request.type
        let department = type.departmentId
        let id = request.id ?? "lic_" + runtime.newID()
        let now = request.issuedAt ?? runtime.now()
        let expiresAt = request.expiresAt ?? LicenseClaims.adding(years: type.validityYears, to: now)
        let number = Self.certificateNumber(id: id, at: now)
        var fields =
            request.fields
            ?? LicenseClaims.resolve(
                type, form: request.form, holder: holder, departmentName: request.department?.name ?? department, issuedOn: LicenseClaims.day(now),
                validUntil: expiresAt.map(LicenseClaims.day), number: number)
        fields = fields.filter { name, _ in type.fields.contains { $0.name == name } }
        let identifier = Self.identifier(type: type, department: request.department, number: number)

        try await db.insert(into: "licenses")
            .columns("id", "account_id", "type", "department_id", "case_id", "state", "superseded_by", "issued_at", "expires_at")
            .values(
                SQLBind(id), SQLBind(request.accountID), SQLBind(type.code), SQLBind(department), SQLBind(request.caseID),
                SQLBind(License.State.valid.rawValue), SQLBind(String?.none), SQLBind(now), SQLBind(expiresAt)
            )
            .run()
        let copies = min(max(batchSize, 1), Self.maxBatchSize)
        let (entries, listRecords) = try await statusLists.reserve(copies: copies, for: id, department: department, on: db)
        let key = try await keys.signingKey(of: department, on: db)
        let serialized = try entries.enumerated().map { copy, entry in
            try Self.signCopy(
                vct: type.vct, fields: fields, identifier: identifier?.rawValue, issuedAt: now, expiresAt: expiresAt, entry: entry,
                holderKey: holder.deviceKeys.isEmpty ? nil : holder.deviceKeys[copy % holder.deviceKeys.count], key: key)
        }
        let license = License(
            id: id, type: type.code, typeName: type.name, vct: type.vct, departmentId: department, issuer: key.issuer,
            identifier: identifier?.rawValue, caseId: request.caseID, fields: fields, issuedAt: Int64(now), expiresAt: expiresAt.map(Int64.init),
            copies: serialized)
        return (license, listRecords + [try .upsert(license, in: .user(request.accountID))])
    }

    /// One more copy of a usable license, bound to `holderKey` with a status entry of its own (a standards wallet's,
    /// through OpenID4VCI). Returns the copy, its holder and the records of a status list opened for it; `nil` when
    /// there is no such usable license.
    func issueCopy(_ licenseID: String, holderKey: ECPublicJWK, on db: any SQLDatabase) async throws -> (
        copy: String, accountID: String, records: [ChangeRecord]
    )? {
        guard
            let row = try await db.raw(
                "SELECT account_id, state, department_id FROM licenses WHERE id = \(bind: licenseID)\(unsafeRaw: db.forUpdate)"
            ).first()
        else { return nil }
        let accountID = try row.decode(column: "account_id", as: String.self)
        guard let license = try await ChangeLog.entity(License.self, id: licenseID, in: .user(accountID), on: db),
            license.isUsable(at: runtime.nowMillis)
        else { return nil }
        let next =
            try await db.select().column(SQLFunction("MAX", args: SQLColumn("copy")), as: "n").from("license_copies")
            .where("license_id", .equal, licenseID).first()?.decode(column: "n", as: Int?.self).map { $0 + 1 } ?? 0
        let (entries, records) = try await statusLists.reserve(copies: 1, firstCopy: next, for: licenseID, department: license.departmentId, on: db)
        let key = try await keys.signingKey(of: license.departmentId, on: db)
        let copy = try Self.signCopy(
            vct: license.vct, fields: license.fields, identifier: license.identifier, issuedAt: Int(license.issuedAt),
            expiresAt: license.expiresAt.map(Int.init), entry: entries[0], holderKey: holderKey, key: key)
        return (copy, accountID, records)
    }

    /// Signs one SD-JWT copy: the status entry, expiry and holder key in the clear, every field disclosable.
    private static func signCopy(
        vct: String, fields: [String: String], identifier: String?, issuedAt: Int, expiresAt: Int?, entry: (uri: String, index: Int),
        holderKey: ECPublicJWK?, key: IssuerKeyStore.SigningKey
    ) throws -> String {
        var disclosable = fields.mapValues(JSONValue.string)
        if let identifier { disclosable["license_identifier"] = .string(identifier) }
        var visible: [String: JSONValue] = [
            "iss": .string(key.issuer), "vct": .string(vct), "iat": .integer(Int64(issuedAt / 1000)),
            "status": .object(["status_list": .object(["idx": .integer(Int64(entry.index)), "uri": .string(entry.uri)])]),
        ]
        if let expiresAt { visible["exp"] = .integer(Int64(expiresAt / 1000)) }
        if let holderKey { visible["cnf"] = .object(["jwk": holderKey.json]) }
        return try SDJWT.issue(visible: visible, disclosable: disclosable, keyID: key.kid, key: key.key)
    }

    /// Moves a license to `state` (its row locked first), re-signing its status lists; returns the updated license
    /// and the records to append. `invalid_transition` for a move the status model does not allow.
    func changeState(
        _ licenseID: String, to state: License.State, supersededBy: String? = nil, on db: any SQLDatabase
    ) async throws -> (license: License, records: [ChangeRecord]) {
        guard
            let row = try await db.raw(
                "SELECT account_id, state FROM licenses WHERE id = \(bind: licenseID)\(unsafeRaw: db.forUpdate)"
            ).first()
        else { throw AppError(.notFound, "No license has the id '\(licenseID)'.") }
        let accountID = try row.decode(column: "account_id", as: String.self)
        let current = License.State(rawValue: try row.decode(column: "state", as: String.self)) ?? .revoked
        guard Self.allows(current, state) else {
            throw AppError(.invalidTransition, "A \(current.rawValue) license cannot become \(state.rawValue).")
        }
        guard var license = try await ChangeLog.entity(License.self, id: licenseID, in: .user(accountID), on: db) else {
            throw AppError(.notFound, "No license has the id '\(licenseID)'.")
        }
        try await db.update("licenses").set("state", to: state.rawValue).set("superseded_by", to: supersededBy).where("id", .equal, licenseID).run()
        license.state = state
        license.supersededBy = supersededBy
        let status: LicenseStatus =
            switch state {
            case .valid: .valid
            case .suspended: .suspended
            case .revoked, .superseded: .invalid
            }
        let records = try await statusLists.setStatus(status, of: licenseID, on: db)
        return (license, records + [try .upsert(license, in: .user(accountID))])
    }

    /// Like `changeState`, for a license that may have moved meanwhile: `nil` when it is no longer valid or suspended.
    func changeStateIfHeld(
        _ licenseID: String, to state: License.State, supersededBy: String? = nil, on db: any SQLDatabase
    ) async throws -> (license: License, records: [ChangeRecord])? {
        guard
            let row = try await db.raw("SELECT state FROM licenses WHERE id = \(bind: licenseID)\(unsafeRaw: db.forUpdate)").first(),
            let current = License.State(rawValue: try row.decode(column: "state", as: String.self)), Self.allows(current, state)
        else { return nil }
        return try await changeState(licenseID, to: state, supersededBy: supersededBy, on: db)
    }

    /// The holder's licenses of `types` that are valid or suspended (what a new license supersedes or a
    /// deregistration revokes), oldest first.
    func heldLicenses(of accountID: String, types: [String], on db: any SQLDatabase) async throws -> [String] {
        guard !types.isEmpty else { return [] }
        return try await db.select().column("id").from("licenses").where("account_id", .equal, accountID).where("type", .in, types)
            .where("state", .in, [License.State.valid.rawValue, License.State.suspended.rawValue]).orderBy("issued_at").orderBy("id")
            .all(decodingColumn: "id", as: String.self)
    }

    /// Who holds a license and which department issued it (`nil` when there is no such license).
    func owner(of licenseID: String, on db: any SQLDatabase) async throws -> (accountID: String, departmentID: String)? {
        guard let row = try await db.select().columns("account_id", "department_id").from("licenses").where("id", .equal, licenseID).first()
        else { return nil }
        return (try row.decode(column: "account_id", as: String.self), try row.decode(column: "department_id", as: String.self))
    }

    /// The license a presented copy belongs to, by its status entry.
    func license(atStatusEntry uri: String, index: Int, on db: any SQLDatabase) async throws -> (licenseID: String, accountID: String)? {
        guard let listID = statusLists.listID(of: uri) else { return nil }
        guard
            let row = try await db.raw(
                """
                SELECT l.id, l.account_id FROM license_copies c JOIN licenses l ON l.id = c.license_id
                WHERE c.list_id = \(bind: listID) AND c.idx = \(bind: index)
                """
            ).first()
        else { return nil }
        return (try row.decode(column: "id", as: String.self), try row.decode(column: "account_id", as: String.self))
    }

    /// The status model (Token Status List semantics): suspension is reversible; revocation and supersession are final.
    static func allows(_ from: License.State, _ to: License.State) -> Bool {
        switch (from, to) {
        case (.valid, .suspended), (.valid, .revoked), (.valid, .superseded): true
        case (.suspended, .valid), (.suspended, .revoked), (.suspended, .superseded): true
        default: false
        }
    }

    /// 证照编号 as OneTrip numbers its licenses: the issue date and the id's random digits (unique, never reused).
    static func certificateNumber(id: String, at millis: Int) -> String {
        LicenseClaims.day(millis).replacingOccurrences(of: "-", with: "") + String(id.dropFirst(4).prefix(12)).uppercased()
    }

    /// The GB/T 36904 identifier, when the type has its national type code and the department its credit code.
    static func identifier(type: LicenseType, department: Department?, number: String) -> LicenseIdentifier? {
        guard let typeCode = type.typeCode, let issuer = department?.creditCode else { return nil }
        return try? LicenseIdentifier(typeCode: typeCode, issuer: issuer, serial: number)
    }
}

enum WalletError: Error, CustomStringConvertible {
    case unknownHolder(String)
    var description: String {
        switch self {
        case .unknownHolder(let account): "no account \(account) to issue a license to"
        }
    }
}

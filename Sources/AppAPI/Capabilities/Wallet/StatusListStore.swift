import Foundation
import SQLKit
import SyncCore

/// Status lists (Token Status List, 2 bits per entry) per issuing department. Every copy of every license has its own
/// random entry, so an index tells a verifier nothing about the holder's other copies or about issuance order. A
/// status change re-signs the list in the same transaction, so the new list is published (over HTTP and in the
/// `public` scope) the moment the change commits; a job re-signs unchanged lists before offline kiosks would call
/// them stale, and after a key rotation.
struct StatusListStore: Sendable {
    /// Entries per list. Each list is filled to half at most, so a random free index is found in a few tries;
    /// 2^20 entries with 1% revoked compress to well under 32 KB.
    static let capacity = 1 << 20
    /// Seconds a verifier may cache a token (`ttl`, and the HTTP `Cache-Control: max-age`).
    static let timeToLive: Int64 = 300
    /// Lists whose token is older than this are re-signed by the refresh job, although nothing changed.
    static let refreshAfterMillis = 6 * 3600 * 1000

    let keys: IssuerKeyStore
    let runtime: Runtime
    /// Entries per list; tests use small lists to exercise a full one.
    var capacity = Self.capacity

    func uri(of listID: String) -> String { "\(keys.publicBaseURL)/v1/status-lists/\(listID)" }

    /// The list a `uri` of ours names; `nil` for anyone else's URI.
    func listID(of uri: String) -> String? {
        let prefix = "\(keys.publicBaseURL)/v1/status-lists/"
        guard uri.hasPrefix(prefix), uri.utf8.count <= prefix.utf8.count + 128 else { return nil }
        return String(uri.dropFirst(prefix.count))
    }

    /// Reserves one random unused entry per copy for `licenseID` in the department's current list (opening and
    /// publishing a new list when it is half full). Returns the (uri, index) of each copy, in copy order, and the
    /// records of any list it published.
    func reserve(copies: Int, firstCopy: Int = 0, for licenseID: String, department: String, on db: any SQLDatabase) async throws -> (
        entries: [(uri: String, index: Int)], records: [ChangeRecord]
    ) {
        // The department's key row serializes reservations, so two issuances never open the same new list.
        _ = try await keys.signingKey(of: department, locking: true, on: db)
        var records: [ChangeRecord] = []
        let listID: String
        if let current = try await currentList(of: department, needing: copies, on: db) {
            listID = current
        } else {
            listID = try await openList(for: department, on: db)
            records.append(try await publish(listID, on: db))
        }
        var entries: [(uri: String, index: Int)] = []
        for copy in firstCopy..<(firstCopy + copies) {
            var placed: Int?
            for _ in 0..<64 where placed == nil {
                let index = Int.random(in: 0..<capacity)
                let inserted = try await db.insert(into: "license_copies").columns("list_id", "idx", "license_id", "copy", "status")
                    .values(SQLBind(listID), SQLBind(index), SQLBind(licenseID), SQLBind(copy), SQLBind(Int(LicenseStatus.valid.rawValue)))
                    .ignoringConflicts(with: ["list_id", "idx"]).returning("idx").first()
                if inserted != nil { placed = index }
            }
            guard let placed else { throw StatusListError.noFreeEntry(listID) }
            entries.append((uri(of: listID), placed))
        }
        return (entries, records)
    }

    /// Sets every copy of `licenseID` to `status` and re-signs the lists they are in; returns the records to publish.
    func setStatus(_ status: LicenseStatus, of licenseID: String, on db: any SQLDatabase) async throws -> [ChangeRecord] {
        let lists = try await db.select().distinct().column("list_id").from("license_copies").where("license_id", .equal, licenseID)
            .all(decodingColumn: "list_id", as: String.self)
        try await db.update("license_copies").set("status", to: Int(status.rawValue)).where("license_id", .equal, licenseID).run()
        var records: [ChangeRecord] = []
        for list in lists.sorted() { records.append(try await publish(list, on: db)) }
        return records
    }

    /// Signs the list's current entries with its department's active key and stores the token; returns its `public`
    /// record. Takes the list's row lock first, so concurrent changes publish one after the other, each with all
    /// changes committed before it.
    func publish(_ listID: String, on db: any SQLDatabase) async throws -> ChangeRecord {
        guard
            let row = try await db.raw(
                "SELECT department_id, capacity FROM status_lists WHERE id = \(bind: listID)\(unsafeRaw: db.forUpdate)"
            ).first()
        else { throw StatusListError.unknownList(listID) }
        let department = try row.decode(column: "department_id", as: String.self)
        var list = try StatusList(count: try row.decode(column: "capacity", as: Int.self))
        let changed = try await db.select().columns("idx", "status").from("license_copies").where("list_id", .equal, listID)
            .where("status", .notEqual, Int(LicenseStatus.valid.rawValue)).all()
        for entry in changed {
            try list.set(try entry.decode(column: "idx", as: Int.self), to: UInt8(try entry.decode(column: "status", as: Int.self)))
        }
        let key = try await keys.signingKey(of: department, on: db)
        let issuedAt = runtime.nowMillis / 1000
        let token = try StatusListToken(list: list, uri: uri(of: listID), issuedAt: issuedAt, timeToLive: Self.timeToLive)
            .signed(issuer: key.issuer, keyID: key.kid, key: key.key)
        try await db.update("status_lists").set("token", to: token).set("kid", to: key.kid).set("issued_at", to: runtime.now())
            .where("id", .equal, listID).run()
        let published = PublishedStatusList(
            id: listID, departmentId: department, uri: uri(of: listID), token: token, issuedAt: issuedAt, ttl: Self.timeToLive)
        return try .upsert(published, in: .public)
    }

    /// The current status of one entry, as the database has it (what the next published list will say).
    func status(of uri: String, index: Int, on db: any SQLDatabase) async throws -> LicenseStatus? {
        guard let listID = listID(of: uri),
            let row = try await db.select().column("status").from("license_copies").where("list_id", .equal, listID).where("idx", .equal, index)
                .first()
        else { return nil }
        return LicenseStatus(rawValue: UInt8(clamping: try row.decode(column: "status", as: Int.self)))
    }

    /// The signed token of a list and when it was signed, for `GET /v1/status-lists/{id}`.
    func token(of listID: String) async throws -> (token: String, issuedAt: Int)? {
        try await keys.database.read { db in
            guard let row = try await db.select().columns("token", "issued_at").from("status_lists").where("id", .equal, listID).first(),
                let token = try row.decode(column: "token", as: String?.self)
            else { return nil }
            return (token, try row.decode(column: "issued_at", as: Int.self))
        }
    }

    /// Re-signs lists whose token is older than `refreshAfterMillis` or signed by a retired key.
    func refreshStale() async throws -> Int {
        let cutoff = runtime.now() - Self.refreshAfterMillis
        let stale = try await keys.database.read { db in
            try await db.raw(
                """
                SELECT s.id FROM status_lists s LEFT JOIN issuer_keys k ON k.kid = s.kid
                WHERE s.issued_at IS NULL OR s.issued_at < \(bind: cutoff) OR k.retired_at IS NOT NULL ORDER BY s.id
                """
            ).all(decodingColumn: "id", as: String.self)
        }
        for listID in stale {
            try await keys.database.transaction { db in try await ChangeLog.append([try await publish(listID, on: db)], on: db) }
        }
        return stale.count
    }

    // MARK: Private

    /// The department's newest list with room for `copies` more entries, its row locked and its count raised.
    private func currentList(of department: String, needing copies: Int, on db: any SQLDatabase) async throws -> String? {
        guard
            let row = try await db.raw(
                """
                SELECT id, capacity, used FROM status_lists WHERE department_id = \(bind: department)
                ORDER BY id DESC LIMIT 1\(unsafeRaw: db.forUpdate)
                """
            ).first()
        else { return nil }
        let id = try row.decode(column: "id", as: String.self)
        let used = try row.decode(column: "used", as: Int.self)
        let capacity = try row.decode(column: "capacity", as: Int.self)
        guard used + copies <= capacity / 2 else { return nil }
        try await db.update("status_lists").set("used", to: used + copies).where("id", .equal, id).run()
        return id
    }

    /// Opens the department's next list (`<department>.<n>`, n counting from 1).
    private func openList(for department: String, on db: any SQLDatabase) async throws -> String {
        let count =
            try await db.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("status_lists")
            .where("department_id", .equal, department).first()?.decode(column: "n", as: Int.self) ?? 0
        let id = "\(department).\(String(format: "%06d", count + 1))"
        try await db.insert(into: "status_lists").columns("id", "department_id", "capacity", "used", "token", "kid", "issued_at")
            .values(SQLBind(id), SQLBind(department), SQLBind(capacity), SQLBind(0), SQLBind(String?.none), SQLBind(String?.none), SQLBind(Int?.none))
            .run()
        return id
    }
}

enum StatusListError: Error, CustomStringConvertible {
    case noFreeEntry(String)
    case unknownList(String)
    var description: String {
        switch self {
        case .noFreeEntry(let list): "no free entry found in status list \(list)"
        case .unknownList(let list): "no status list \(list)"
        }
    }
}

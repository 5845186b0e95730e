import Foundation
import Logging
import SQLKit
import SyncCore

/// Persists cases: the case JSON goes into the change log of its owner's `user:` scope and, once submitted, its
/// department's `dept:` scope (the clerks' queue); `case_index` mirrors the fields the workbench and statistics
/// filter on. Every save compares the old and new case and tells the observers about a state change or a new
/// rating inside the same transaction — the one place other capabilities (messages now; payments and licenses
/// next) plug into the workflow.
struct CaseStore: Sendable {
    let database: any Database
    let observers: [any CaseObserver]
    let calendar: CalendarCache

    /// The change records for saving `new` over `old`; also updates the index and notifies observers.
    func persist(old: Case?, new: Case, on db: any SQLDatabase) async throws -> [ChangeRecord] {
        try await upsertIndex(new, on: db)
        var records = [try ChangeRecord.upsert(new, id: new.id, type: .caseFile, in: .user(new.accountId))]
        if new.state != .draft {
            records.append(try .upsert(new, id: new.id, type: .caseFile, in: .department(new.departmentId)))
        }
        let calendar = try await calendar.current(on: db)
        for observer in observers {
            records += try await observer.caseChanged(from: old, to: new, calendar: calendar, on: db)
        }
        return records
    }

    /// Loads a case by id with its owner (from the index, then the owner's scope in the change log).
    func load(_ id: String, on db: any SQLDatabase) async throws -> Case? {
        guard let row = try await db.select().column("account_id").from("case_index").where("id", .equal, id).first() else { return nil }
        let owner = try row.decode(column: "account_id", as: String.self)
        return try await Self.loadFromLog(id, scope: .user(owner), on: db)
    }

    static func loadFromLog(_ id: String, scope: Scope, on db: any SQLDatabase) async throws -> Case? {
        guard let row = try await db.select().columns("op", "data").from("changes").where("scope", .equal, scope.rawValue)
            .where("entity_type", .equal, EntityType.caseFile.rawValue).where("entity_id", .equal, id).first(),
            try row.decode(column: "op", as: String.self) == "upsert", let data = try row.decode(column: "data", as: String?.self)
        else { return nil }
        return try SyncJSON.decoder.decode(Case.self, from: Data(data.utf8))
    }

    /// Cases of one account, newest first.
    func cases(of accountID: String, limit: Int) async throws -> [Case] {
        try await database.read { db in
            let ids = try await db.select().column("id").from("case_index").where("account_id", .equal, accountID)
                .orderBy("updated_at", .descending).limit(limit).all().map { try $0.decode(column: "id", as: String.self) }
            var cases: [Case] = []
            for id in ids { if let found = try await Self.loadFromLog(id, scope: .user(accountID), on: db) { cases.append(found) } }
            return cases
        }
    }

    private func upsertIndex(_ case_: Case, on db: any SQLDatabase) async throws {
        let values: [(String, any Encodable & Sendable)] = [
            ("id", case_.id), ("account_id", case_.accountId), ("department_id", case_.departmentId), ("matter_code", case_.matterCode),
            ("state", case_.state.rawValue), ("deadline", case_.deadline), ("pending_due", case_.pendingDue), ("submitted_at", case_.submittedAt),
            ("accepted_at", case_.acceptedAt), ("decided_at", case_.decidedAt), ("completed_at", case_.completedAt), ("visits", case_.visits),
            ("promised_visits", case_.promisedVisits), ("rating", case_.rating?.level), ("bundle_submission_id", case_.bundleSubmissionId),
            ("updated_at", Clock.nowMillis()),
        ]
        try await db.insert(into: "case_index").columns(values.map(\.0)).values(values.map { SQLBind($0.1) })
            .onConflict(with: ["id"]) { conflict in
                for (column, _) in values where column != "id" { conflict.set(excludedValueOf: column) }
                return conflict
            }
            .run()
    }
}

/// Something that reacts to case changes inside the saving transaction and may publish entities of its own.
protocol CaseObserver: Sendable {
    func caseChanged(from old: Case?, to new: Case, calendar: WorkingCalendar, on db: any SQLDatabase) async throws -> [ChangeRecord]
}

/// The holiday calendar, read from the database once (it only changes with the seeds).
final class CalendarCache: Sendable {
    private let cached = Mutex<WorkingCalendar?>(nil)

    func current(on db: any SQLDatabase) async throws -> WorkingCalendar {
        if let calendar = cached.withLock({ $0 }) { return calendar }
        let rows = try await db.select().columns("day", "kind").from("holidays").all()
        var holidays: [String] = []
        var workdays: [String] = []
        for row in rows {
            let day = try row.decode(column: "day", as: String.self)
            if try row.decode(column: "kind", as: String.self) == "holiday" { holidays.append(day) } else { workdays.append(day) }
        }
        let calendar = WorkingCalendar(holidays: holidays, workdays: workdays)
        cached.withLock { $0 = calendar }
        return calendar
    }
}

import Synchronization

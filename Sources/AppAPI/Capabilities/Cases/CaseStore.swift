import Foundation
import Logging
import SQLKit
import SyncCore

/// Persists cases: the case JSON goes into the change log of its owner's `user:` scope and, once submitted, its
/// department's `dept:` scope (the clerks' queue); `case_index` mirrors the fields the workbench and statistics
/// filter on and is the owner of record of every case id; `case_materials` lists the files a submitted case cites.
/// Every save compares the old and new case and tells the observers inside the same transaction — the one place
/// other capabilities (messages now; payments and licenses next) plug into the workflow.
struct CaseStore: Sendable {
    let database: any Database
    let observers: [any CaseObserver]
    let calendar: WorkingCalendarStore
    let runtime: Runtime

    /// The change records for saving `new` over `old`; also updates the index and citations and notifies observers.
    /// A new case whose id another account holds is refused (`id_taken`), never overwritten.
    func persist(old: Case?, new: Case, on db: any SQLDatabase) async throws -> [ChangeRecord] {
        try await saveIndex(new, isNew: old == nil, on: db)
        TransactionNotes.record(CaseIndexChanged())
        if new.state != .draft && (old?.materials != new.materials || old?.state == .draft || old == nil) {
            try await saveCitations(new, on: db)
        }
        var records = [try ChangeRecord.upsert(new, in: .user(new.accountId))]
        if new.state != .draft {
            records.append(try .upsert(new, in: .department(new.departmentId)))
        }
        let calendar = try await calendar.current(on: db)
        for observer in observers {
            records += try await observer.caseChanged(from: old, to: new, calendar: calendar, on: db)
        }
        return records
    }

    /// The case `id` whoever owns it, with its row locked for the rest of the transaction (so two decisions on one case
    /// take turns and the second decides on what the first left). `nil` when no case has the id.
    func load(_ id: String, from log: ChangeLogView) async throws -> Case? {
        guard let owner = try await lockOwner(id, on: log.db) else { return nil }
        return try await log.entity(EntityKey(.caseFile, id), in: .user(owner), locking: false)
            .map { try SyncJSON.decoder.decode(Case.self, from: Data($0)) }
    }

    /// `load` outside a push (workbench actions, jobs).
    func load(_ id: String, on db: any SQLDatabase) async throws -> Case? { try await load(id, from: ChangeLogView(db: db)) }

    /// The owner of case `id`, locking its index row.
    private func lockOwner(_ id: String, on db: any SQLDatabase) async throws -> String? {
        try await db.raw("SELECT account_id FROM case_index WHERE id = \(bind: id)\(unsafeRaw: db.forUpdate)").first()?
            .decode(column: "account_id", as: String.self)
    }

    /// Cases of one account, newest first.
    func cases(of accountID: String, limit: Int) async throws -> [Case] {
        try await database.read { db in
            let ids = try await db.select().column("id").from("case_index").where("account_id", .equal, accountID)
                .orderBy("updated_at", .descending).limit(limit).all().map { try $0.decode(column: "id", as: String.self) }
            var cases: [Case] = []
            for id in ids { if let found = try await ChangeLog.entity(Case.self, id: id, in: .user(accountID), on: db) { cases.append(found) } }
            return cases
        }
    }

    /// A department's submitted cases, oldest submission first, optionally by state, matter, or overdue on `overdueOn`.
    func departmentQueue(_ department: String, state: CaseState?, matterCode: String?, overdueOn today: String?, limit: Int) async throws -> [Case] {
        try await database.read { db in
            let select = db.select().column("id").from("case_index").where("department_id", .equal, department)
                .where("state", .notEqual, CaseState.draft.rawValue)
            if let state { select.where("state", .equal, state.rawValue) }
            if let matterCode { select.where("matter_code", .equal, matterCode) }
            if let today { select.where("deadline", .lessThan, today).where("state", .in, Case.deadlineRunningStates.map(\.rawValue)) }
            let ids = try await select.orderBy("submitted_at").limit(limit).all().map { try $0.decode(column: "id", as: String.self) }
            var cases: [Case] = []
            for id in ids {
                if let found = try await ChangeLog.entity(Case.self, id: id, in: .department(department), on: db) { cases.append(found) }
            }
            return cases
        }
    }

    /// Rectification tasks, soonest due first: of one department, or every department's (`nil`, for admins).
    func rectifications(department: String?, status: String?) async throws -> [any SQLRow] {
        try await database.read { db in
            let select = db.select().columns("id", "case_id", "department_id", "rating", "comment", "due", "status", "created_at").from(
                "rectification_tasks")
            if let department { select.where("department_id", .equal, department) }
            if let status { select.where("status", .equal, status) }
            return try await select.orderBy("due").orderBy("id").limit(500).all()
        }
    }

    /// A case as its owner or the handling department sees it, without locking.
    func read(_ id: String) async throws -> Case? {
        try await database.read { db in
            guard
                let owner = try await db.select().column("account_id").from("case_index").where("id", .equal, id).first()?
                    .decode(column: "account_id", as: String.self)
            else { return nil }
            return try await ChangeLog.entity(Case.self, id: id, in: .user(owner), on: db)
        }
    }

    /// Whether a submitted case of `department` (any department when `nil`) cites the file.
    func cites(_ sha256: String, department: String?) async throws -> Bool {
        try await database.read { db in
            let select = db.select().column("case_id").from("case_materials").where("sha256", .equal, sha256)
            if let department { select.where("department_id", .equal, department) }
            return try await select.limit(1).first() != nil
        }
    }

    private func saveIndex(_ caseFile: Case, isNew: Bool, on db: any SQLDatabase) async throws {
        let values: [(String, any Encodable & Sendable)] = [
            ("account_id", caseFile.accountId), ("department_id", caseFile.departmentId), ("matter_code", caseFile.matterCode),
            ("state", caseFile.state.rawValue), ("deadline", caseFile.deadline), ("pending_due", caseFile.pendingDue),
            ("submitted_at", caseFile.submittedAt),
            ("accepted_at", caseFile.acceptedAt), ("decided_at", caseFile.decidedAt), ("completed_at", caseFile.completedAt),
            ("visits", caseFile.visits),
            ("promised_visits", caseFile.promisedVisits), ("rating", caseFile.rating?.level), ("bundle_submission_id", caseFile.bundleSubmissionId),
            ("updated_at", runtime.now()),
        ]
        if isNew {
            let inserted = try await db.insert(into: "case_index").columns(["id"] + values.map(\.0)).values(
                [SQLBind(caseFile.id)] + values.map { SQLBind($0.1) }
            )
            .ignoringConflicts(with: ["id"]).returning("id").first()
            guard inserted != nil else { throw MutationRejection(.idTaken, "The case id '\(caseFile.id)' is taken; choose another.") }
        } else {
            let update = db.update("case_index")
            for (column, value) in values { update.set(SQLIdentifier(column), to: SQLBind(value)) }
            // The owner never changes: an update of another account's case id matches nothing and is refused.
            let updated = try await update.where("id", .equal, caseFile.id).where("account_id", .equal, caseFile.accountId).returning("id").first()
            guard updated != nil else { throw MutationRejection(.notFound, "No case has the id '\(caseFile.id)'.") }
        }
    }

    private func saveCitations(_ caseFile: Case, on db: any SQLDatabase) async throws {
        try await db.delete(from: "case_materials").where("case_id", .equal, caseFile.id).run()
        for sha in Set(caseFile.materials.compactMap(\.blobSha256)).sorted() {
            try await db.insert(into: "case_materials").columns("case_id", "sha256", "department_id")
                .values(SQLBind(caseFile.id), SQLBind(sha), SQLBind(caseFile.departmentId)).ignoringConflicts(with: ["case_id", "sha256"]).run()
        }
    }
}

/// A transaction changed `case_index` (the statistics recompute after it commits).
struct CaseIndexChanged: Sendable {}

/// Something that reacts to case changes inside the saving transaction and may publish entities of its own.
protocol CaseObserver: Sendable {
    func caseChanged(from old: Case?, to new: Case, calendar: WorkingCalendar, on db: any SQLDatabase) async throws -> [ChangeRecord]
}

/// Cases for the sync engine: `case.*` mutators load a case by id whoever owns it (so another account's id is
/// refused by the mutator instead of shadowed by a new draft) and store it through `CaseStore`.
struct CasePersister: EntityPersister {
    let store: CaseStore
    var entityType: EntityType { .caseFile }

    func load(_ keys: [EntityKey], context: MutationContext, from log: ChangeLogView) async throws -> [EntityKey: [UInt8]?] {
        var loaded: [EntityKey: [UInt8]?] = [:]
        for key in keys { loaded[key] = .some(try await store.load(key.id, from: log).map(SyncJSON.encode)) }
        return loaded
    }

    func persist(_ key: EntityKey, old: [UInt8]?, new: [UInt8]?, context: MutationContext, on log: ChangeLogView) async throws -> [ChangeRecord] {
        guard let new else { throw MutationRejection(.forbidden, "Cases are never deleted; withdraw it instead.") }
        let decode = { (json: [UInt8]) throws -> Case in try SyncJSON.decoder.decode(Case.self, from: Data(json)) }
        return try await store.persist(old: try old.map(decode), new: try decode(new), on: log.db)
    }
}

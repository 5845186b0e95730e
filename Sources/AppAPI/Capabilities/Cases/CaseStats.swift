import Foundation
import OneTripAPI
import SQLKit
import SyncCore
import Synchronization

/// The "at most one trip" ledger: per department and city-wide — cases by state, on-time rate, visits, the share
/// handled without any visit (全程网办), broken promises and satisfaction.
extension APIImplementation {
    func getStats(_ input: Operations.GetStats.Input) async throws -> Operations.GetStats.Output {
        var stats = try await caseStatistics.current()
        stats.payments = try await payments.statistics()
        return .ok(.init(body: .json(stats)))
    }
}

/// The ledger is public and scans the case index, so it is not computed per request: the last result is served
/// until a case changes (a commit of this instance) or `maxAge` passes (changes made through other instances), and
/// concurrent requests share one computation. Its cost follows the rate of case changes, not of requests.
final class CaseStatistics: CommitObserver {
    static let maxAge = 60_000

    let database: any Database
    let runtime: Runtime
    private let cached = Mutex<(at: Int, generation: Int, stats: Components.Schemas.Stats)?>(nil)
    private let generation = Mutex(0)
    private let computing = AsyncMutex()

    init(database: any Database, runtime: Runtime) {
        self.database = database
        self.runtime = runtime
    }

    func current() async throws -> Components.Schemas.Stats {
        if let fresh = fresh() { return fresh }
        return try await computing.withLock {
            if let fresh = fresh() { return fresh }
            let started = generation.withLock { $0 }
            let stats = try await compute()
            cached.withLock { $0 = (runtime.now(), started, stats) }
            return stats
        }
    }

    private func fresh() -> Components.Schemas.Stats? {
        let current = generation.withLock { $0 }
        return cached.withLock { entry in
            guard let entry, entry.generation == current, runtime.now() - entry.at < Self.maxAge else { return nil }
            return entry.stats
        }
    }

    func willCommit(_ notes: [any Sendable], on db: any SQLDatabase, engine: DatabaseEngine) async throws {}

    func didCommit(_ notes: [any Sendable]) {
        if notes.contains(where: { $0 is CaseIndexChanged }) { generation.withLock { $0 += 1 } }
    }

    private func compute() async throws -> Components.Schemas.Stats {
        struct Row {
            var department: String
            var state: String
            var deadline: String?
            var decidedAt: Int?
            var visits: Int
            var promisedVisits: Int
            var rating: Int?
        }
        let (rows, rectifications) = try await database.read { db in
            let rows = try await db.select().columns("department_id", "state", "deadline", "decided_at", "visits", "promised_visits", "rating")
                .from("case_index").where("state", .notEqual, "draft").all().map { row in
                    Row(
                        department: try row.decode(column: "department_id", as: String.self), state: try row.decode(column: "state", as: String.self),
                        deadline: try row.decode(column: "deadline", as: String?.self),
                        decidedAt: try row.decode(column: "decided_at", as: Int?.self),
                        visits: try row.decode(column: "visits", as: Int.self),
                        promisedVisits: try row.decode(column: "promised_visits", as: Int.self),
                        rating: try row.decode(column: "rating", as: Int?.self)
                    )
                }
            let open = try await db.select().column("department_id").from("rectification_tasks").where("status", .equal, "open").all()
                .map { try $0.decode(column: "department_id", as: String.self) }
            return (rows, open)
        }
        func summarize(_ id: String, _ rows: [Row]) -> Components.Schemas.DepartmentStats {
            let decided = rows.filter { $0.decidedAt != nil && $0.deadline != nil }
            let onTime = decided.filter { WorkingCalendar.day(fromMillis: Int64($0.decidedAt!)) <= $0.deadline! }.count
            let ratings = rows.compactMap(\.rating)
            return .init(
                departmentId: id, cases: rows.count,
                byState: .init(additionalProperties: Dictionary(grouping: rows, by: \.state).mapValues(\.count)),
                onTimeRate: decided.isEmpty ? 1 : Double(onTime) / Double(decided.count),
                averageVisits: rows.isEmpty ? 0 : Double(rows.map(\.visits).reduce(0, +)) / Double(rows.count),
                maxVisits: rows.map(\.visits).max() ?? 0,
                zeroVisitShare: rows.isEmpty ? 1 : Double(rows.filter { $0.visits == 0 }.count) / Double(rows.count),
                brokenPromises: rows.filter { $0.visits > $0.promisedVisits }.count, ratings: ratings.count,
                averageRating: ratings.isEmpty ? 0 : Double(ratings.reduce(0, +)) / Double(ratings.count),
                openRectifications: id == "*" ? rectifications.count : rectifications.filter { $0 == id }.count
            )
        }
        let departments = Dictionary(grouping: rows, by: \.department).sorted { $0.key < $1.key }.map { summarize($0.key, $0.value) }
        return .init(city: summarize("*", rows), departments: departments)
    }
}

import Foundation
import SQLKit
import SyncCore

/// The "at most one trip" ledger: per department and city-wide — cases by state, on-time rate, visits, the share
/// handled without any visit (全程网办), broken promises and satisfaction.
extension APIImplementation {
    func getStats(_ input: Operations.GetStats.Input) async throws -> Operations.GetStats.Output {
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
                        deadline: try row.decode(column: "deadline", as: String?.self), decidedAt: try row.decode(column: "decided_at", as: Int?.self),
                        visits: try row.decode(column: "visits", as: Int.self), promisedVisits: try row.decode(column: "promised_visits", as: Int.self),
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
                averageVisits: rows.isEmpty ? 0 : Double(rows.map(\.visits).reduce(0, +)) / Double(rows.count), maxVisits: rows.map(\.visits).max() ?? 0,
                zeroVisitShare: rows.isEmpty ? 1 : Double(rows.filter { $0.visits == 0 }.count) / Double(rows.count),
                brokenPromises: rows.filter { $0.visits > $0.promisedVisits }.count, ratings: ratings.count,
                averageRating: ratings.isEmpty ? 0 : Double(ratings.reduce(0, +)) / Double(ratings.count),
                openRectifications: id == "*" ? rectifications.count : rectifications.filter { $0 == id }.count
            )
        }
        let departments = Dictionary(grouping: rows, by: \.department).sorted { $0.key < $1.key }.map { summarize($0.key, $0.value) }
        return .ok(.init(body: .json(.init(city: summarize("*", rows), departments: departments))))
    }
}

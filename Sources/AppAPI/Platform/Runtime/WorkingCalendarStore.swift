import SQLKit
import SyncCore
import Synchronization

/// The official holiday calendar (`holidays`): the seed loads it, deadlines and due dates count in it. Read from the
/// database once per process (it changes only with the seeds, which a running server does not reload).
final class WorkingCalendarStore: Sendable {
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

    func current(_ database: any Database) async throws -> WorkingCalendar {
        if let calendar = cached.withLock({ $0 }) { return calendar }
        return try await database.read { db in try await self.current(on: db) }
    }

    /// Saves official holidays and adjusted working days (from the seed), replacing a day's kind when it changed.
    static func save(holidays: [String], workdays: [String], on db: any SQLDatabase) async throws {
        for (days, kind) in [(holidays, "holiday"), (workdays, "workday")] {
            for day in days {
                try await db.insert(into: "holidays").columns("day", "kind").values(SQLBind(day), SQLBind(kind))
                    .onConflict(with: ["day"]) { $0.set(excludedValueOf: "kind") }.run()
            }
        }
    }
}

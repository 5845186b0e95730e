import Foundation
import SQLKit
import SyncCore

/// Appointment slots: server-side state in `appointment_slots`, never in the change log (phones do not need other
/// people's bookings, and capacity is the server's call). A centre's day of slots is generated from its opening hours
/// (`AppointmentSchedule`) the first time the day is asked for or booked.
///
/// For the mutators, a slot key — or an appointment that holds a slot (`dependentKeys`) — brings that centre's whole
/// day into the state, row-locked for the transaction, so `appointment.book` can check capacity and name alternatives
/// while a concurrent booking of the same day waits its turn.
struct AppointmentSlotPersister: EntityPersister {
    var entityType: EntityType { .appointmentSlot }

    func dependentKeys(given loaded: [EntityKey: [UInt8]?]) -> [EntityKey] {
        loaded.compactMap { key, json in
            guard key.type == .appointment, let json = json ?? nil, let appointment = try? SyncJSON.decoder.decode(Appointment.self, from: Data(json))
            else { return nil }
            return EntityKey(.appointmentSlot, appointment.slotId)
        }
    }

    func load(_ keys: [EntityKey], context: MutationContext, from log: ChangeLogView) async throws -> [EntityKey: [UInt8]?] {
        var state: [EntityKey: [UInt8]?] = [:]
        let days = Set(keys.compactMap { SlotID($0.id) }.map { AppointmentSlotStore.CenterDay(centerID: $0.centerId, day: $0.day) })
        // Sorted, so a run touching several days locks them in one order.
        for day in days.sorted() {
            try await AppointmentSlotStore.generateIfNeeded(day, now: context.now, on: log.db)
            for slot in try await AppointmentSlotStore.slots(of: day, locking: true, on: log.db) {
                state[EntityKey(.appointmentSlot, slot.id)] = .some(SyncJSON.encode(slot))
            }
        }
        return state
    }

    func persist(_ key: EntityKey, old: [UInt8]?, new: [UInt8]?, context: MutationContext, on log: ChangeLogView) async throws -> [ChangeRecord] {
        guard let new else { throw MutationRejection(.forbidden, "Slots are not deleted.") }
        let slot = try SyncJSON.decoder.decode(AppointmentSlot.self, from: Data(new))
        let bookings = String(decoding: SyncJSON.encode(slot.bookings), as: UTF8.self)
        let updated = try await log.db.raw(
            """
            UPDATE appointment_slots SET booked = \(bind: slot.booked), bookings = \(bind: bookings) WHERE id = \(bind: slot.id) RETURNING id
            """
        ).first()
        guard updated != nil else { throw MutationRejection(.notFound, "No slot has the id '\(slot.id)'.") }
        // Server-side state: nothing to publish.
        return []
    }
}

/// An account's open appointments, for `appointment.book`'s per-account limit: counted from its `user:` scope.
struct AppointmentHoldingsPersister: EntityPersister {
    var entityType: EntityType { .appointmentHoldings }

    func load(_ keys: [EntityKey], context: MutationContext, from log: ChangeLogView) async throws -> [EntityKey: [UInt8]?] {
        var state: [EntityKey: [UInt8]?] = [:]
        for key in keys where key.id == context.accountID {
            // Two devices of one account booking at once take turns on the account's scope head, so the count holds.
            try await ChangeLog.lock(.user(key.id), on: log.db)
            var appointments = Dictionary(
                try await ChangeLog.entities(Appointment.self, in: .user(key.id), on: log.db).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            for record in log.pending where record.type == .appointment && record.scope == .user(key.id) {
                appointments[record.id] = try record.data.map { try SyncJSON.decoder.decode(Appointment.self, from: Data($0.utf8)) }
            }
            let open = appointments.values.filter { $0.status == .booked && (SlotID($0.slotId)?.startMillis ?? 0) > context.now }.map(\.id).sorted()
            state[key] = .some(SyncJSON.encode(AppointmentHoldings(accountId: key.id, open: open)))
        }
        return state
    }

    func persist(_ key: EntityKey, old: [UInt8]?, new: [UInt8]?, context: MutationContext, on log: ChangeLogView) async throws -> [ChangeRecord] {
        throw MutationRejection(.forbidden, "Holdings are derived, never written.")
    }
}

/// SQL for `appointment_slots`.
enum AppointmentSlotStore {
    /// The slots of `center` on `day` for the public listing, generating the day on first request.
    static func listing(_ center: ServiceCenter, on day: String, now: Int64, database: any Database) async throws -> [AppointmentSlot] {
        let key = CenterDay(centerID: center.id, day: day)
        let (stored, holidays) = try await database.read { db in (try await slots(of: key, locking: false, on: db), try await Self.calendar(on: db)) }
        guard stored.isEmpty, AppointmentSchedule.opens(center, on: day, calendar: holidays) else { return stored }
        return try await database.transaction { db in
            try await generateIfNeeded(key, now: now, on: db)
            return try await slots(of: key, locking: false, on: db)
        }
    }

    /// A service centre from the catalog (the `public` scope of the change log).
    static func center(_ id: String, on db: any SQLDatabase) async throws -> ServiceCenter? {
        guard PathID.isPlausible(id) else { return nil }
        return try await ChangeLog.entity(ServiceCenter.self, id: id, in: .public, on: db)
    }

    /// The holiday calendar phones hold (the `public` scope), so server and phone lay out the same days.
    static func calendar(on db: any SQLDatabase) async throws -> WorkingCalendar {
        try await ChangeLog.entity(HolidayCalendar.self, id: HolidayCalendar.id, in: .public, on: db)?.workingCalendar ?? .weekendsOnly
    }

    // MARK: Rows

    struct CenterDay: Hashable, Comparable {
        var centerID: String
        var day: String

        static func < (a: CenterDay, b: CenterDay) -> Bool { (a.centerID, a.day) < (b.centerID, b.day) }
    }

    /// Inserts the day's slots unless it has some already; only for a known centre and a day within the booking window.
    static func generateIfNeeded(_ key: CenterDay, now: Int64, on db: any SQLDatabase) async throws {
        guard AppointmentSchedule.bookingWindowProblem(key.day, now: now) == nil,
            try await db.select().column("id").from("appointment_slots").where("center_id", .equal, key.centerID).where("day", .equal, key.day)
                .limit(1).first() == nil,
            let center = try await center(key.centerID, on: db)
        else { return }
        let slots = AppointmentSchedule.slots(for: center, on: key.day, calendar: try await Self.calendar(on: db))
        guard !slots.isEmpty else { return }
        var insert = db.insert(into: "appointment_slots").columns(
            "id", "center_id", "day", "start_time", "end_time", "capacity", "booked", "bookings")
        for slot in slots {
            insert = insert.values(
                SQLBind(slot.id), SQLBind(slot.centerId), SQLBind(slot.day), SQLBind(slot.start), SQLBind(slot.end), SQLBind(slot.capacity),
                SQLBind(0), SQLBind("[]"))
        }
        // Two first requests for the same day may race; the loser's rows are dropped.
        try await insert.ignoringConflicts(with: ["id"]).run()
    }

    /// The day's slots, earliest first. `locking` takes their row locks for the transaction (an UPDATE locks on both
    /// engines; SQLite's single writer is taken anyway).
    static func slots(of key: CenterDay, locking: Bool, on db: any SQLDatabase) async throws -> [AppointmentSlot] {
        let columns = "id, center_id, day, start_time, end_time, capacity, bookings"
        let rows =
            locking
            ? try await db.raw(
                """
                UPDATE appointment_slots SET booked = booked WHERE center_id = \(bind: key.centerID) AND day = \(bind: key.day)
                RETURNING \(unsafeRaw: columns)
                """
            ).all()
            : try await db.raw(
                "SELECT \(unsafeRaw: columns) FROM appointment_slots WHERE center_id = \(bind: key.centerID) AND day = \(bind: key.day)"
            ).all()
        return try rows.map { row in
            AppointmentSlot(
                centerId: try row.decode(column: "center_id", as: String.self), day: try row.decode(column: "day", as: String.self),
                start: try row.decode(column: "start_time", as: String.self), end: try row.decode(column: "end_time", as: String.self),
                capacity: try row.decode(column: "capacity", as: Int.self),
                bookings: try SyncJSON.decoder.decode([SlotBooking].self, from: Data(try row.decode(column: "bookings", as: String.self).utf8))
            )
        }.sorted { $0.start < $1.start }
    }
}

extension AppointmentSlotStore {
    /// Appointments (in their owners' `user:` scopes, ids chosen by devices), the slots they hold and each account's
    /// open appointments.
    static let persisters: [any EntityPersister] = [
        ChangeLogPersister(.appointment, home: .owner, devicesChooseIDs: true), AppointmentSlotPersister(), AppointmentHoldingsPersister(),
    ]
}

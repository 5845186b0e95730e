import Foundation
import SQLKit
import SyncCore

/// Appointment slots: server-side state in `appointment_slots`, never in the change log (phones do not need other
/// people's bookings, and capacity is the server's call). A centre's day of slots is generated from its opening hours
/// (`AppointmentSchedule`) the first time the day is asked for or booked.
///
/// `SyncService` calls `mutationState` and `persist` for the mutators: a slot key, or an appointment that holds a
/// slot, brings that centre's whole day into the state, row-locked for the transaction, so `appointment.book` can
/// check capacity and name alternatives while a concurrent booking of the same day waits its turn.
enum AppointmentSlotStore {
    /// The slots a mutator run needs beside the keys it reads (see the type's comment). A requested slot the server
    /// does not have is loaded as absent.
    static func mutationState(for keys: [EntityKey], loaded: [EntityKey: [UInt8]?], now: Int64, on db: any SQLDatabase) async throws
        -> [EntityKey: [UInt8]?]
    {
        var state: [EntityKey: [UInt8]?] = [:]
        var days: Set<CenterDay> = []
        for key in keys where key.type == .appointmentSlot {
            state[key] = .some(nil)
            if let slot = SlotID(key.id) { days.insert(CenterDay(centerID: slot.centerId, day: slot.day)) }
        }
        for (key, json) in loaded where key.type == .appointment {
            guard let json = json ?? nil, let appointment = try? SyncJSON.decoder.decode(Appointment.self, from: Data(json)),
                let slot = SlotID(appointment.slotId)
            else { continue }
            days.insert(CenterDay(centerID: slot.centerId, day: slot.day))
        }
        // Sorted, so a run touching several days locks them in one order.
        for day in days.sorted() {
            try await generateIfNeeded(day, now: now, on: db)
            for slot in try await slots(of: day, locking: true, on: db) {
                state[EntityKey(.appointmentSlot, slot.id)] = .some(SyncJSON.encode(slot))
            }
        }
        return state
    }

    /// Writes a slot a mutator changed back to its row.
    static func persist(_ key: EntityKey, json: [UInt8]?, on db: any SQLDatabase) async throws {
        guard let json else { throw AppointmentSlotError.deleted(key.id) }
        let slot = try SyncJSON.decoder.decode(AppointmentSlot.self, from: Data(json))
        let bookings = String(decoding: SyncJSON.encode(slot.bookings), as: UTF8.self)
        let updated = try await db.raw(
            """
            UPDATE appointment_slots SET booked = \(bind: slot.booked), bookings = \(bind: bookings) WHERE id = \(bind: slot.id) RETURNING id
            """
        ).first()
        guard updated != nil else { throw AppointmentSlotError.unknown(slot.id) }
    }

    /// The slots of `center` on `day` for the public listing, generating the day on first request.
    static func listing(_ center: ServiceCenter, on day: String, now: Int64, database: any Database) async throws -> [AppointmentSlot] {
        let key = CenterDay(centerID: center.id, day: day)
        let stored = try await database.read { db in try await slots(of: key, locking: false, on: db) }
        guard stored.isEmpty, AppointmentSchedule.opens(center, on: day) else { return stored }
        return try await database.transaction { db in
            try await generateIfNeeded(key, now: now, on: db)
            return try await slots(of: key, locking: false, on: db)
        }
    }

    /// A service centre from the catalog.
    static func center(_ id: String, on db: any SQLDatabase) async throws -> ServiceCenter? {
        guard let row = try await db.select().column("data").from("service_centers").where("id", .equal, id).first() else { return nil }
        return try JSONDecoder().decode(ServiceCenter.self, from: Data(try row.decode(column: "data", as: String.self).utf8))
    }

    // MARK: Rows

    private struct CenterDay: Hashable, Comparable {
        var centerID: String
        var day: String

        static func < (a: CenterDay, b: CenterDay) -> Bool { (a.centerID, a.day) < (b.centerID, b.day) }
    }

    /// Inserts the day's slots unless it has some already; only for a known centre and a day within the booking window.
    private static func generateIfNeeded(_ key: CenterDay, now: Int64, on db: any SQLDatabase) async throws {
        guard AppointmentSchedule.bookingWindowProblem(key.day, now: now) == nil,
            try await db.select().column("id").from("appointment_slots").where("center_id", .equal, key.centerID).where("day", .equal, key.day)
                .limit(1).first() == nil,
            let center = try await center(key.centerID, on: db)
        else { return }
        let slots = AppointmentSchedule.slots(for: center, on: key.day)
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
    private static func slots(of key: CenterDay, locking: Bool, on db: any SQLDatabase) async throws -> [AppointmentSlot] {
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

enum AppointmentSlotError: Error {
    case deleted(String)
    case unknown(String)
}

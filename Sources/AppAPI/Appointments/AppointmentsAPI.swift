import Foundation
import SQLKit
import SyncCore

/// Appointment routes. Booking and cancelling run the `appointment.*` mutators through `SyncService.run`, so a phone
/// that books offline and one that calls these routes meet exactly the same rules.
extension APIImplementation {
    func listCenterSlots(_ input: Operations.ListCenterSlots.Input) async throws -> Operations.ListCenterSlots.Output {
        let day = input.query.day
        let now = Int64(Clock.nowMillis())
        if let outside = AppointmentSchedule.bookingWindowProblem(day, now: now) {
            return .badRequest(.init(body: .applicationProblemJson(problem(.invalidParameter("day", outside)))))
        }
        guard let center = try await database.read({ db in try await AppointmentSlotStore.center(input.path.id, on: db) }) else {
            return .notFound(.init(body: .applicationProblemJson(problem(.notFound("No service centre has the id '\(input.path.id)'.")))))
        }
        let slots = try await AppointmentSlotStore.listing(center, on: day, now: now, database: database).filter { $0.startMillis > now }
        return .ok(.init(body: .json(.init(centerId: center.id, day: day, items: slots.map(Components.Schemas.AppointmentSlot.init)))))
    }

    func bookAppointment(_ input: Operations.BookAppointment.Input) async throws -> Operations.BookAppointment.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Expected a JSON body.") }
        let args = AppointmentBook.Args(
            appointmentId: body.appointmentId ?? "apt_" + Self.newID(), slotId: body.slotId, matterCode: body.matterCode, caseId: body.caseId)
        let booked = try await runAppointmentMutation(AppointmentBook.name, args: args, appointmentID: args.appointmentId)
        return .created(.init(body: .json(try .init(booked))))
    }

    func cancelAppointment(_ input: Operations.CancelAppointment.Input) async throws -> Operations.CancelAppointment.Output {
        let id = input.path.id
        let cancelled = try await runAppointmentMutation(AppointmentCancel.name, args: AppointmentCancel.Args(appointmentId: id), appointmentID: id)
        return .ok(.init(body: .json(try .init(cancelled))))
    }

    func listMyAppointments(_ input: Operations.ListMyAppointments.Input) async throws -> Operations.ListMyAppointments.Output {
        let me = try await authenticate(AccountKind.applicants)
        let status = input.query.status.flatMap { AppointmentStatus(rawValue: $0.rawValue) }
        let appointments = try await database.read { db in try await AppointmentLog.appointments(of: me.accountID, on: db) }
            .filter { status == nil || $0.status == status }
        return .ok(.init(body: .json(.init(items: try appointments.map(Components.Schemas.Appointment.init)))))
    }

    /// Runs an `appointment.*` mutator for the caller in one transaction, publishes its changes, and returns the appointment.
    private func runAppointmentMutation(_ name: String, args: some Encodable, appointmentID: String) async throws -> Appointment {
        let me = try await authenticate(AccountKind.applicants)
        let json = SyncJSON.encode(args)
        return try await database.transaction { [sync] db in
            let records: [ChangeRecord]
            switch try await sync.run(name, args: json, context: sync.context(for: me), on: db) {
            case .success(let written): records = written
            case .failure(let rejection): throw AppError(appointmentRejection: rejection)
            }
            try await ChangeLog.append(SyncService.latestPerEntity(records), on: db)
            guard let appointment = try await AppointmentLog.appointment(appointmentID, of: me.accountID, on: db) else {
                throw AppError.notFound("No appointment \(appointmentID) for you.")
            }
            return appointment
        }
    }
}

/// Appointments as published in their owners' `user:` scopes: the change log is their only store.
enum AppointmentLog {
    static func appointment(_ id: String, of accountID: String, on db: any SQLDatabase) async throws -> Appointment? {
        guard
            let row = try await db.select().columns("op", "data").from("changes").where("scope", .equal, Scope.user(accountID).rawValue)
                .where("entity_type", .equal, EntityType.appointment.rawValue).where("entity_id", .equal, id).first(),
            try row.decode(column: "op", as: String.self) == "upsert", let data = try row.decode(column: "data", as: String?.self)
        else { return nil }
        return try SyncJSON.decoder.decode(Appointment.self, from: Data(data.utf8))
    }

    /// Every appointment of the account, earliest slot first.
    static func appointments(of accountID: String, on db: any SQLDatabase) async throws -> [Appointment] {
        try await db.select().column("data").from("changes").where("scope", .equal, Scope.user(accountID).rawValue)
            .where("entity_type", .equal, EntityType.appointment.rawValue).where("op", .equal, "upsert").all()
            .compactMap { try $0.decode(column: "data", as: String?.self) }
            .map { try SyncJSON.decoder.decode(Appointment.self, from: Data($0.utf8)) }
            .sorted { ($0.day, $0.start, $0.id) < ($1.day, $1.start, $1.id) }
    }
}

extension AppError {
    /// An `appointment.*` rejection as HTTP: a full slot is 409 with the alternatives in `errors` (pointer `/slotId`,
    /// detail the free slot's id), holding the slot already is 409; the rest as for cases.
    init(appointmentRejection rejection: MutationRejection) {
        switch rejection.code {
        case "slot_full":
            self.init(
                status: .conflict, code: rejection.code, title: "Slot full", detail: rejection.detail,
                errors: AppointmentBook.alternatives(in: rejection).map { FieldError(pointer: "/slotId", detail: $0) })
        case "already_booked":
            self.init(status: .conflict, code: rejection.code, title: "Not possible now", detail: rejection.detail)
        default:
            self.init(rejection)
        }
    }
}

extension Components.Schemas.Appointment {
    init(_ appointment: Appointment) throws {
        self = try JSONDecoder().decode(Components.Schemas.Appointment.self, from: Data(SyncJSON.encode(appointment)))
    }
}

extension Components.Schemas.AppointmentSlot {
    init(_ slot: AppointmentSlot) {
        self.init(
            id: slot.id, centerId: slot.centerId, day: slot.day, start: slot.start, end: slot.end, capacity: slot.capacity, booked: slot.booked,
            available: slot.available)
    }
}

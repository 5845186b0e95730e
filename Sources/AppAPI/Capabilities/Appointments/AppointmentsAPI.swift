import Foundation
import OneTripAPI
import SQLKit
import SyncCore

/// Appointment routes. Booking and cancelling run the `appointment.*` mutators through the sync engine's
/// `MutationRunner`, so a phone that books offline and one that calls these routes meet exactly the same rules.
extension APIImplementation {
    func listCenterSlots(_ input: Operations.ListCenterSlots.Input) async throws -> Operations.ListCenterSlots.Output {
        let day = input.query.day
        let now = runtime.nowMillis
        if let outside = AppointmentSchedule.bookingWindowProblem(day, now: now) { throw AppError.invalidParameter("day", outside) }
        guard let center = try await database.read({ db in try await AppointmentSlotStore.center(input.path.id, on: db) }) else {
            throw AppError.notFound("No service centre has the id '\(input.path.id.prefix(128))'.")
        }
        let slots = try await AppointmentSlotStore.listing(center, on: day, now: now, database: database).filter { $0.startMillis > now }
        return .ok(.init(body: .json(.init(centerId: center.id, day: day, items: slots.map(Components.Schemas.AppointmentSlot.init)))))
    }

    func bookAppointment(_ input: Operations.BookAppointment.Input) async throws -> Operations.BookAppointment.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Expected a JSON body.") }
        let args = AppointmentBook.Args(
            appointmentId: body.appointmentId ?? "apt_" + runtime.newID(), slotId: body.slotId, matterCode: body.matterCode, caseId: body.caseId)
        let booked = try await runAppointmentMutation(AppointmentBook.name, args: args, appointmentID: args.appointmentId)
        return .created(.init(body: .json(booked)))
    }

    func cancelAppointment(_ input: Operations.CancelAppointment.Input) async throws -> Operations.CancelAppointment.Output {
        let id = input.path.id
        let cancelled = try await runAppointmentMutation(AppointmentCancel.name, args: AppointmentCancel.Args(appointmentId: id), appointmentID: id)
        return .ok(.init(body: .json(cancelled)))
    }

    func listMyAppointments(_ input: Operations.ListMyAppointments.Input) async throws -> Operations.ListMyAppointments.Output {
        let me = try await authenticate(AccountRole.applicants)
        let status = input.query.status
        let appointments = try await database.read { db in try await ChangeLog.entities(Appointment.self, in: .user(me.accountID), on: db) }
            .filter { status == nil || $0.status == status }
            .sorted { ($0.day, $0.start, $0.id) < ($1.day, $1.start, $1.id) }
        return .ok(.init(body: .json(.init(items: appointments))))
    }

    /// Runs an `appointment.*` mutator for the caller in one transaction, publishes its changes, and returns the appointment.
    private func runAppointmentMutation(_ name: String, args: some Encodable & Sendable, appointmentID: String) async throws -> Appointment {
        let me = try await authenticate(AccountRole.applicants)
        return try await sync.transaction(for: me) { batch in
            try await batch.run(name, args: args)
            guard let appointment = try await batch.entity(Appointment.self, id: appointmentID, in: .user(me.accountID)) else {
                throw AppError.notFound("No appointment \(appointmentID.prefix(128)) for you.")
            }
            return appointment
        }
    }
}

extension Components.Schemas.AppointmentSlot {
    init(_ slot: AppointmentSlot) {
        self.init(
            id: slot.id, centerId: slot.centerId, day: slot.day, start: slot.start, end: slot.end, capacity: slot.capacity, booked: slot.booked,
            available: slot.available)
    }
}

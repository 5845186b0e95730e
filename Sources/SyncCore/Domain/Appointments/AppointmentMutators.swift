import Foundation

/// `appointment.book`: book a slot at a service centre, optionally for a matter or one of the applicant's cases.
///
/// Slots are server-side state. The server loads the requested slot together with every other slot of that centre
/// and day (row-locked), so this pure function checks capacity and, when the slot is full, names up to
/// `maxAlternatives` free slots of the same day, nearest in time first. A phone holds no slots: its optimistic
/// booking checks the day and the centre's opening hours only, and the server's run may still refuse it.
/// Rejections: `invalid_args` (malformed ids, a day outside the booking window, no such slot — a holiday has none —,
/// a slot already begun, a weekend booking for a service the centre does not offer on weekends, an unknown matter, an appointment id in use), `not_found` (unknown centre or case), `already_booked` (this
/// account holds the slot already), `appointment_limit` (the account holds `maxOpenAppointments` open ones; checked
/// on the server), `id_taken` (another account's appointment has the id), `slot_full` (`alternatives` lists free slot ids of the same day).
public enum AppointmentBook: Mutator {
    public static let name = "appointment.book"
    public static let allowedRoles = AccountRole.applicants
    public static let maxAlternatives = 3
    /// The most booked appointments, not yet begun, one account may hold: a few visits, not a city centre's week.
    public static let maxOpenAppointments = 3

    public struct Args: Codable, Sendable, Equatable {
        /// Chosen by the booking side (a phone books offline), 1–64 of `A-Z a-z 0-9 _ -`.
        public var appointmentId: String
        public var slotId: String
        public var matterCode: String?
        public var caseId: String?

        public init(appointmentId: String, slotId: String, matterCode: String? = nil, caseId: String? = nil) {
            self.appointmentId = appointmentId
            self.slotId = slotId
            self.matterCode = matterCode
            self.caseId = caseId
        }
    }

    public static func reads(_ args: Args, context: MutationContext) -> [EntityKey] {
        var keys = [
            EntityKey(.appointment, args.appointmentId), EntityKey(.appointmentSlot, args.slotId), EntityKey(.appointmentHoldings, context.accountID),
        ]
        if let slot = SlotID(args.slotId) { keys.append(EntityKey(.serviceCenter, slot.centerId)) }
        keys.append(EntityKey(.holidayCalendar, HolidayCalendar.id))
        if let code = args.matterCode { keys.append(EntityKey(.matter, code)) }
        if let caseId = args.caseId { keys.append(EntityKey(.caseFile, caseId)) }
        return keys
    }

    public static func apply(_ args: Args, to state: inout MutationState, context: MutationContext) throws(MutationRejection) {
        guard isValidID(args.appointmentId) else { throw MutationRejection(.invalidArgs, "appointmentId: 1 to 64 letters, digits, '_' or '-'.") }
        guard let slotID = SlotID(args.slotId) else {
            throw MutationRejection(.invalidArgs, "slotId: expected <centerId>|<YYYY-MM-DD>|<HH:MM>, got '\(args.slotId)'.")
        }
        if let problem = AppointmentSchedule.bookingWindowProblem(slotID.day, now: context.now) { throw MutationRejection(.invalidArgs, problem) }
        guard let center = try state.get(ServiceCenter.self, id: slotID.centerId) else {
            throw MutationRejection(.notFound, "No service centre has the id '\(slotID.centerId)'.")
        }
        // The server's stored slots are authoritative; without them (on a phone) the centre's opening hours under the
        // published holiday calendar are.
        let calendar = try state.get(HolidayCalendar.self, id: HolidayCalendar.id)?.workingCalendar ?? .weekendsOnly
        let stored = try slots(of: slotID, in: state)
        let day = stored.isEmpty ? AppointmentSchedule.slots(for: center, on: slotID.day, calendar: calendar) : stored
        guard let planned = day.first(where: { $0.start == slotID.start }) else {
            throw MutationRejection(.invalidArgs, "\(center.name) has no slot at \(slotID.start) on \(slotID.day).")
        }
        guard planned.startMillis > context.now else {
            throw MutationRejection(.invalidArgs, "The \(slotID.start) slot on \(slotID.day) has begun.")
        }
        var matterCode = args.matterCode
        var departmentId: String?
        if let code = args.matterCode {
            guard let matter = try state.get(Matter.self, id: code) else {
                throw MutationRejection(.invalidArgs, "matterCode: no matter has the code '\(code)'.")
            }
            departmentId = matter.departmentId
        }
        if let caseId = args.caseId {
            guard let caseFile = try state.get(Case.self, id: caseId), caseFile.accountId == context.accountID else {
                throw MutationRejection(.notFound, "No case \(caseId) for you.")
            }
            if let code = matterCode, code != caseFile.matterCode {
                throw MutationRejection(.invalidArgs, "matterCode: case \(caseId) is for \(caseFile.matterCode), not \(code).")
            }
            matterCode = caseFile.matterCode
            departmentId = caseFile.departmentId
        }
        if let problem = AppointmentSchedule.weekendServiceProblem(center, on: slotID.day, departmentId: departmentId, calendar: calendar) {
            throw MutationRejection(.invalidArgs, problem)
        }
        if let existing = try state.get(Appointment.self, id: args.appointmentId) {
            if existing.accountId == context.accountID && existing.slotId == slotID.rawValue && existing.status == .booked {
                throw MutationRejection(.alreadyBooked, "You hold the \(slotID.start) slot on \(slotID.day) already.")
            }
            throw MutationRejection(.invalidArgs, "appointmentId: '\(args.appointmentId)' is in use; choose a new one.")
        }

        if let holdings = try state.get(AppointmentHoldings.self, id: context.accountID), holdings.open.count >= maxOpenAppointments {
            throw MutationRejection(
                .appointmentLimit,
                "You hold \(holdings.open.count) open appointments; cancel one before booking another (at most \(maxOpenAppointments)).")
        }
        if var slot = stored.first(where: { $0.id == slotID.rawValue }) {
            if slot.bookings.contains(where: { $0.accountId == context.accountID }) {
                throw MutationRejection(.alreadyBooked, "You hold the \(slotID.start) slot on \(slotID.day) already.")
            }
            if slot.bookings.contains(where: { $0.appointmentId == args.appointmentId }) {
                throw MutationRejection(
                    .idTaken, "The appointment id '\(args.appointmentId)' is taken; choose another.",
                    errors: [.init(pointer: "/appointmentId", detail: "taken")])
            }
            if slot.isFull { throw slotFull(slot, at: center, alternatives: alternatives(to: slot, among: stored, now: context.now)) }
            slot.bookings.append(SlotBooking(appointmentId: args.appointmentId, accountId: context.accountID))
            state.put(slot)
        }
        state.put(
            Appointment(
                id: args.appointmentId, accountId: context.accountID, slot: slotID, end: planned.end, matterCode: matterCode, caseId: args.caseId,
                createdAt: context.now))
    }

    static func slotFull(_ slot: AppointmentSlot, at center: ServiceCenter, alternatives: [AppointmentSlot]) -> MutationRejection {
        let full = "The \(slot.start)–\(slot.end) slot on \(slot.day) at \(center.name) is full."
        let offer =
            alternatives.isEmpty ? " No other slot is free that day." : " Free that day: " + alternatives.map(\.start).joined(separator: ", ") + "."
        return MutationRejection(
            .slotFull, full + offer, errors: [FieldProblem(pointer: "/slotId", detail: "full")], alternatives: alternatives.map(\.id))
    }

    /// Free slots of the same day that have not begun, nearest in time to `slot` first (earlier on a tie).
    static func alternatives(to slot: AppointmentSlot, among day: [AppointmentSlot], now: Int64) -> [AppointmentSlot] {
        let wanted = AppointmentSchedule.minutes(slot.start) ?? 0
        return day.filter { $0.id != slot.id && !$0.isFull && $0.startMillis > now }
            .sorted { a, b in
                let (da, db) = (abs((AppointmentSchedule.minutes(a.start) ?? 0) - wanted), abs((AppointmentSchedule.minutes(b.start) ?? 0) - wanted))
                return da != db ? da < db : a.start < b.start
            }
            .prefix(maxAlternatives).map { $0 }
    }

    /// The stored slots of `slot`'s centre and day in `state`, earliest first (none on a phone).
    static func slots(of slot: SlotID, in state: MutationState) throws(MutationRejection) -> [AppointmentSlot] {
        let prefix = "\(slot.centerId)|\(slot.day)|"
        var found: [AppointmentSlot] = []
        for key in state.entities.keys where key.type == .appointmentSlot && key.id.hasPrefix(prefix) {
            if let stored = try state.get(AppointmentSlot.self, id: key.id) { found.append(stored) }
        }
        return found.sorted { $0.start < $1.start }
    }

    static func isValidID(_ id: String) -> Bool {
        (1...64).contains(id.utf8.count) && id.utf8.allSatisfy { $0.isASCIIAlphanumeric || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }
}

/// `appointment.cancel`: give an appointment up before its slot begins, freeing the place. The server loads the
/// appointment's slot with it (server-side state); on a phone the slot is absent and only the appointment changes.
/// Rejections: `not_found` (no such appointment for you), `invalid_transition` (cancelled already, or
/// the slot has begun).
public enum AppointmentCancel: Mutator {
    public static let name = "appointment.cancel"
    public static let allowedRoles = AccountRole.applicants

    public struct Args: Codable, Sendable, Equatable {
        public var appointmentId: String

        public init(appointmentId: String) { self.appointmentId = appointmentId }
    }

    public static func reads(_ args: Args, context: MutationContext) -> [EntityKey] {
        [EntityKey(.appointment, args.appointmentId)]
    }

    public static func apply(_ args: Args, to state: inout MutationState, context: MutationContext) throws(MutationRejection) {
        guard var appointment = try state.get(Appointment.self, id: args.appointmentId) else {
            throw MutationRejection(.notFound, "No appointment has the id '\(args.appointmentId)'.")
        }
        guard appointment.accountId == context.accountID else {
            throw MutationRejection(.notFound, "No appointment has the id '\(args.appointmentId)'.")
        }
        guard appointment.status == .booked else { throw MutationRejection(.invalidTransition, "The appointment is cancelled already.") }
        if let slotID = SlotID(appointment.slotId), slotID.startMillis <= context.now {
            throw MutationRejection(.invalidTransition, "The \(appointment.start) slot on \(appointment.day) has begun; it cannot be cancelled.")
        }
        appointment.status = .cancelled
        appointment.cancelledAt = context.now
        state.put(appointment)
        if var slot = try state.get(AppointmentSlot.self, id: appointment.slotId) {
            // Only the canceller's own booking: an id another account used in the slot is never theirs to free.
            slot.bookings.removeAll { $0.appointmentId == appointment.id && $0.accountId == context.accountID }
            state.put(slot)
        }
    }
}

extension UInt8 {
    fileprivate var isASCIIAlphanumeric: Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(self)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self)
    }
}

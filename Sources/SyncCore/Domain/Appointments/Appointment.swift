import Foundation

/// Whether an appointment still holds its slot.
public enum AppointmentStatus: String, Codable, Hashable, Sendable, CaseIterable {
    case booked, cancelled
}

/// An appointment (预约) at a service centre: one account, one slot, for matters that need a visit. It lives in its
/// owner's `user:` scope and changes only through `appointment.book` and `appointment.cancel`.
public struct Appointment: SyncEntity, Hashable {
    public static let entityType: EntityType = .appointment

    public var id: String
    public var accountId: String
    public var centerId: String
    /// The slot held, `<centerId>|<day>|<HH:MM>` (see `SlotID`).
    public var slotId: String
    /// YYYY-MM-DD, China time.
    public var day: String
    /// HH:MM, China time.
    public var start: String
    public var end: String
    /// The matter to be handled at the visit, if the applicant named one.
    public var matterCode: String?
    /// The applicant's case the visit is for (e.g. to show originals), if any.
    public var caseId: String?
    public var status: AppointmentStatus
    /// Milliseconds since 1970.
    public var createdAt: Int64
    public var cancelledAt: Int64?

    public init(
        id: String, accountId: String, slot: SlotID, end: String, matterCode: String? = nil, caseId: String? = nil,
        status: AppointmentStatus = .booked, createdAt: Int64, cancelledAt: Int64? = nil
    ) {
        self.id = id
        self.accountId = accountId
        self.centerId = slot.centerId
        self.slotId = slot.rawValue
        self.day = slot.day
        self.start = slot.start
        self.end = end
        self.matterCode = matterCode
        self.caseId = caseId
        self.status = status
        self.createdAt = createdAt
        self.cancelledAt = cancelledAt
    }
}

/// Where a queue ticket stands.
public enum QueueTicketStatus: String, Codable, Hashable, Sendable, CaseIterable {
    /// In the queue.
    case waiting
    /// Called to a window (叫号).
    case called
    /// Served.
    case done
    /// Given up by its holder.
    case cancelled
}

/// An online queue ticket (在线取号) for a service centre's queue of one day. Numbers are counted per centre and day
/// by the server, so tickets are issued there (no mutator) and published into the holder's `user:` scope.
public struct QueueTicket: SyncEntity {
    public static let entityType: EntityType = .queueTicket

    public var id: String
    public var accountId: String
    public var centerId: String
    /// What the centre's screens call, e.g. `A023`.
    public var number: String
    /// The queue's day, YYYY-MM-DD, China time.
    public var day: String
    public var matterCode: String?
    public var status: QueueTicketStatus
    /// Place in the queue (1 = next) when this copy was made: at issue for the synced entity (the queue moves without
    /// republishing every ticket), now for `GET /v1/queue-tickets/{id}`; absent once the ticket is no longer waiting.
    public var position: Int?
    /// Milliseconds since 1970.
    public var createdAt: Int64

    public init(
        id: String, accountId: String, centerId: String, number: String, day: String, matterCode: String? = nil,
        status: QueueTicketStatus = .waiting, position: Int? = nil, createdAt: Int64
    ) {
        self.id = id
        self.accountId = accountId
        self.centerId = centerId
        self.number = number
        self.day = day
        self.matterCode = matterCode
        self.status = status
        self.position = position
        self.createdAt = createdAt
    }
}

/// What the server knows of an account's open appointments when it books another: server-side state that
/// `appointment.book` reads to hold each account to `AppointmentBook.maxOpenAppointments`. Never synced.
public struct AppointmentHoldings: SyncEntity {
    public static let entityType: EntityType = .appointmentHoldings

    /// The account's id.
    public var id: String
    /// Ids of its booked appointments whose slots have not begun.
    public var open: [String]

    public init(accountId: String, open: [String]) {
        self.id = accountId
        self.open = open
    }
}

import Foundation
import OneTripAPI
import SQLKit
import SyncCore

/// Online queue tickets (在线取号). `queue_tickets` is their store; each issue or change is also published into the
/// holder's `user:` scope. Numbers come from a per-centre, per-day counter whose row lock serialises issuing, so
/// numbers and positions never collide, on either engine.
extension APIImplementation {
    func takeQueueTicket(_ input: Operations.TakeQueueTicket.Input) async throws -> Operations.TakeQueueTicket.Output {
        let me = try await authenticate(AccountKind.applicants)
        guard case .json(let body) = input.body else { throw AppError.badRequest("Expected a JSON body.") }
        let now = runtime.now()
        let today = WorkingCalendar.day(fromMillis: Int64(now))
        let (found, calendar) = try await database.read { db in
            (try await AppointmentSlotStore.center(body.centerId, on: db), try await AppointmentSlotStore.calendar(on: db))
        }
        guard let center = found else {
            throw AppError.notFound("No service centre has the id '\(body.centerId.prefix(128))'.")
        }
        if let code = body.matterCode {
            let known =
                PathID.isPlausible(code)
                ? try await database.read({ db in try await ChangeLog.entity(Matter.self, id: code, in: .public, on: db) }) : nil
            guard known != nil else { throw AppError(.invalidArgs, "matterCode: no matter has the code '\(code.prefix(128))'.") }
        }
        guard AppointmentSchedule.opens(center, on: today, calendar: calendar) else {
            throw AppError(
                .centreClosed, calendar.isHoliday(today) ? "\(center.name) is closed for the public holiday." : "\(center.name) is closed today.")
        }
        let ticket = try await database.transaction { [runtime] db in
            let seq = try await QueueTicketStore.nextNumber(center: center.id, day: today, on: db)
            if let held = try await QueueTicketStore.waiting(of: me.accountID, center: center.id, day: today, on: db) {
                throw AppError(.alreadyQueued, "You hold ticket \(held.number) (\(held.id)) at \(center.name) today already.")
            }
            var ticket = QueueTicket(
                id: "qt_" + runtime.newID(), accountId: me.accountID, centerId: center.id, number: QueueTicketStore.number(seq), day: today,
                matterCode: body.matterCode, createdAt: Int64(now))
            try await QueueTicketStore.insert(ticket, seq: seq, on: db)
            // The synced copy claims no position: the queue moves without republishing every ticket, so a stored
            // position would go stale. `GET /v1/queue-tickets/{id}` computes the live one.
            try await ChangeLog.append([try .upsert(ticket, in: .user(me.accountID))], on: db)
            ticket.position = try await QueueTicketStore.position(of: ticket, today: today, on: db)
            return ticket
        }
        return .created(.init(body: .json(try .init(ticket))))
    }

    func getQueueTicket(_ input: Operations.GetQueueTicket.Input) async throws -> Operations.GetQueueTicket.Output {
        let me = try await authenticate()
        let today = WorkingCalendar.day(fromMillis: runtime.nowMillis)
        guard PathID.isPlausible(input.path.id) else { throw AppError.notFound("No queue ticket \(input.path.id.prefix(128)) for you.") }
        let found = try await database.read { db -> QueueTicket? in
            guard var ticket = try await QueueTicketStore.ticket(input.path.id, on: db), ticket.accountId == me.accountID else { return nil }
            ticket.position = try await QueueTicketStore.position(of: ticket, today: today, on: db)
            return ticket
        }
        guard let found else { throw AppError.notFound("No queue ticket \(input.path.id.prefix(128)) for you.") }
        return .ok(.init(body: .json(try .init(found))))
    }

    func cancelQueueTicket(_ input: Operations.CancelQueueTicket.Input) async throws -> Operations.CancelQueueTicket.Output {
        let me = try await authenticate()
        guard PathID.isPlausible(input.path.id) else { throw AppError.notFound("No queue ticket \(input.path.id.prefix(128)) for you.") }
        let cancelled = try await database.transaction { db in
            guard var ticket = try await QueueTicketStore.ticket(input.path.id, locking: true, on: db), ticket.accountId == me.accountID else {
                throw AppError.notFound("No queue ticket \(input.path.id) for you.")
            }
            guard ticket.status == .waiting else {
                throw AppError(.invalidTransition, "The ticket is \(ticket.status.rawValue), not waiting.")
            }
            ticket.status = .cancelled
            ticket.position = nil
            try await QueueTicketStore.setStatus(ticket, on: db)
            try await ChangeLog.append([try .upsert(ticket, in: .user(ticket.accountId))], on: db)
            return ticket
        }
        return .ok(.init(body: .json(try .init(cancelled))))
    }
}

/// SQL for `queue_tickets` and `queue_counters`.
enum QueueTicketStore {
    /// The next number of a centre's queue on `day`; takes the counter's row lock for the rest of the transaction.
    static func nextNumber(center: String, day: String, on db: any SQLDatabase) async throws -> Int {
        let row = try await db.raw(
            """
            INSERT INTO queue_counters (center_id, day, last_number) VALUES (\(bind: center), \(bind: day), 1)
            ON CONFLICT (center_id, day) DO UPDATE SET last_number = queue_counters.last_number + 1 RETURNING last_number
            """
        ).first()
        guard let row else { throw QueueTicketError.noCounter }
        return try row.decode(column: "last_number", as: Int.self)
    }

    /// `A001` … `A999`, then `A1000` and on.
    static func number(_ seq: Int) -> String { "A" + String(repeating: "0", count: max(0, 3 - String(seq).count)) + String(seq) }

    static func insert(_ ticket: QueueTicket, seq: Int, on db: any SQLDatabase) async throws {
        try await db.insert(into: "queue_tickets")
            .columns("id", "account_id", "center_id", "day", "seq", "number", "matter_code", "status", "created_at", "updated_at")
            .values(
                SQLBind(ticket.id), SQLBind(ticket.accountId), SQLBind(ticket.centerId), SQLBind(ticket.day), SQLBind(seq), SQLBind(ticket.number),
                SQLBind(ticket.matterCode), SQLBind(ticket.status.rawValue), SQLBind(ticket.createdAt), SQLBind(ticket.createdAt)
            ).run()
    }

    static func setStatus(_ ticket: QueueTicket, on db: any SQLDatabase) async throws {
        try await db.update("queue_tickets").set("status", to: ticket.status.rawValue).set("updated_at", to: Clock.nowMillis())
            .where("id", .equal, ticket.id).run()
    }

    /// The ticket `id`; `locking` takes its row for the rest of the transaction (a cancel decides on what it locked).
    static func ticket(_ id: String, locking: Bool = false, on db: any SQLDatabase) async throws -> QueueTicket? {
        try await db.raw(
            "SELECT \(unsafeRaw: columns.joined(separator: ", ")) FROM queue_tickets WHERE id = \(bind: id)\(unsafeRaw: locking ? db.forUpdate : "")"
        ).first().map(decode)
    }

    /// The account's waiting ticket in a centre's queue of `day`, if any.
    static func waiting(of accountID: String, center: String, day: String, on db: any SQLDatabase) async throws -> QueueTicket? {
        try await db.select().columns(columns).from("queue_tickets").where("account_id", .equal, accountID).where("center_id", .equal, center)
            .where("day", .equal, day).where("status", .equal, QueueTicketStatus.waiting.rawValue).first().map(decode)
    }

    /// Waiting tickets ahead of `ticket` in its queue, plus one; `nil` unless it waits in today's queue.
    static func position(of ticket: QueueTicket, today: String, on db: any SQLDatabase) async throws -> Int? {
        guard ticket.status == .waiting, ticket.day == today else { return nil }
        let row = try await db.raw(
            """
            SELECT COUNT(*) AS ahead FROM queue_tickets
            WHERE center_id = \(bind: ticket.centerId) AND day = \(bind: ticket.day) AND status = 'waiting'
              AND seq < (SELECT seq FROM queue_tickets WHERE id = \(bind: ticket.id))
            """
        ).first()
        return (try row?.decode(column: "ahead", as: Int.self) ?? 0) + 1
    }

    private static let columns = ["id", "account_id", "center_id", "day", "number", "matter_code", "status", "created_at"]

    private static func decode(_ row: any SQLRow) throws -> QueueTicket {
        QueueTicket(
            id: try row.decode(column: "id", as: String.self), accountId: try row.decode(column: "account_id", as: String.self),
            centerId: try row.decode(column: "center_id", as: String.self), number: try row.decode(column: "number", as: String.self),
            day: try row.decode(column: "day", as: String.self), matterCode: try row.decode(column: "matter_code", as: String?.self),
            status: QueueTicketStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .waiting,
            createdAt: try row.decode(column: "created_at", as: Int64.self))
    }
}

enum QueueTicketError: Error {
    case noCounter
}

extension Components.Schemas.QueueTicket {
    init(_ ticket: QueueTicket) throws {
        self = try JSONDecoder().decode(Components.Schemas.QueueTicket.self, from: Data(SyncJSON.encode(ticket)))
    }
}

extension ProblemCode {
    /// The service centre does not open today.
    static let centreClosed = ProblemCode("centre_closed", .conflict)
    /// The account already waits in this centre's queue today.
    static let alreadyQueued = ProblemCode("already_queued", .conflict)
}

import ArgumentParser
import Foundation
import OneTripAPI
import SyncCore

/// `appcli appointments [list|centers|slots|book|cancel]`: 预约 at service centres. Booking and cancelling go through
/// the `appointment.book` / `appointment.cancel` mutators on the replica, so they work offline; a phone knows the
/// centres' opening hours but not how full a slot is, so the server may still answer `slot_full` (with alternatives).
struct AppointmentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "appointments", abstract: "Appointments at service centres (预约; booking works offline).",
        subcommands: [List.self, Centers.self, Slots.self, Book.self, Cancel.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "My appointments from the replica, earliest first.")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Include cancelled ones.") var all = false

        func run() async throws {
            try await withSession(global) { session in
                let account = try session.requireAccount()
                let replica = try session.replica
                let appointments = try replica.entities(Appointment.self, in: .user(account.id))
                    .filter { all || $0.status == .booked }.sorted { ($0.day, $0.start) < ($1.day, $1.start) }
                if global.json { return try printJSON(appointments) }
                guard !appointments.isEmpty else { return print("no appointments (book one with `appcli appointments book SLOT`)") }
                let centers = Dictionary(uniqueKeysWithValues: try replica.entities(ServiceCenter.self).map { ($0.id, $0.name) })
                var table = Table(["编号", "日期", "时间", "服务中心", "事项", "状态"])
                for item in appointments {
                    table.append([
                        item.id, item.day, "\(item.start)–\(item.end)", centers[item.centerId] ?? item.centerId, item.matterCode ?? "—",
                        item.status == .booked ? "已预约" : "已取消",
                    ])
                }
                print(table.render())
            }
        }
    }

    struct Centers: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Service centres from the replica (works offline).")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only this level: city, district, town or village.") var level: String?

        func run() async throws {
            try await withSession(global) { session in
                let centers = try catalogReplica(session).entities(ServiceCenter.self).filter { level == nil || $0.level.rawValue == level }
                if global.json { return try printJSON(centers) }
                var table = Table(["编号", "服务中心", "区县", "开放时间", "24小时自助"])
                for center in centers {
                    let hours = center.hours.map { "\($0.days) \($0.open)–\($0.close)" }.joined(separator: "; ")
                    table.append([center.id, clip(center.name, 24), center.district, hours, center.selfService24h ? "是" : "否"])
                }
                print(table.render())
            }
        }
    }

    struct Slots: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A centre's slots on a day with free places (asks the server).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Service centre id (see `appcli appointments centers`).") var center: String
        @Option(help: "YYYY-MM-DD (default: tomorrow).") var day: String?

        func run() async throws {
            let wanted = day ?? WorkingCalendar.day(fromMillis: ChinaTime.nowMillis + 86_400_000)
            guard WorkingCalendar.isValidDay(wanted) else { throw CLIError.usage("--day must be a YYYY-MM-DD date") }
            try await withSession(global) { session in
                try session.requireOnline("appointments slots")
                let output = try await session.client.listCenterSlots(path: .init(id: center), query: .init(day: wanted))
                guard case .ok(let ok) = output else { throw CLIError.from(output) }
                let slots = try ok.body.json.items
                if global.json { return try printJSON(slots) }
                guard !slots.isEmpty else { return print("no slots at \(center) on \(wanted) (closed, or all have begun)") }
                var table = Table(["时段编号", "时间", "余量"])
                for slot in slots { table.append([slot.id, "\(slot.start)–\(slot.end)", "\(slot.available)/\(slot.capacity)"]) }
                print(table.render())
            }
        }
    }

    struct Book: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Book a slot (works offline; the server may still find it full).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Slot id, e.g. 'sc-city|2026-12-01|09:00' (see `appcli appointments slots`).") var slot: String
        @Option(help: "The matter the visit is for.") var matter: String?
        @Option(name: .customLong("case"), help: "One of my cases the visit is for.") var caseID: String?

        func run() async throws {
            try await withSession(global) { session in
                _ = try session.requireAccount()
                let replica = try session.replica
                let caseFile = try caseID.map { try findCase($0, in: replica) }
                let id = newID("apt_")
                let args = AppointmentBook.Args(appointmentId: id, slotId: slot, matterCode: matter, caseId: caseFile?.id)
                let committed: CommittedChange
                do {
                    committed = try await commit(session, [(AppointmentBook.name, args)])
                } catch let CLIError.rejected(code, detail) where code == ProblemCode.slotFull.rawValue {
                    // The server's rejection keeps the free slots it offered in the outbox entry of this booking.
                    let entry = try replica.outbox().last { entry in
                        guard entry.name == AppointmentBook.name else { return false }
                        return (try? SyncJSON.decoder.decode(AppointmentBook.Args.self, from: Data(entry.args)))?.appointmentId == id
                    }
                    let free = entry?.alternatives ?? []
                    if !free.isEmpty { note("free that day: " + free.map { "'\($0)'" }.joined(separator: " ")) }
                    throw CLIError.rejected(code: code, detail: detail)
                }
                let booked = try replica.entity(Appointment.self, id: id)
                if global.json { return try printJSON(booked) }
                print(
                    "\(id): \(booked.map { "\($0.day) \($0.start)–\($0.end) at \($0.centerId)" } ?? slot) — "
                        + (committed.synced ? "booked" : "queued (offline)"))
            }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel an appointment before its slot begins (works offline).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Appointment id.") var id: String

        func run() async throws {
            try await withSession(global) { session in
                _ = try session.requireAccount()
                let committed = try await commit(session, [(AppointmentCancel.name, AppointmentCancel.Args(appointmentId: id))])
                let cancelled = try session.replica.entity(Appointment.self, id: id)
                if global.json { return try printJSON(cancelled) }
                print("\(id): " + (committed.synced ? "cancelled" : "cancelled on this device; queued (offline)"))
            }
        }
    }
}

/// `appcli ticket [list|take|show|cancel]`: online queue tickets (在线取号) — a live queue, so online only.
struct TicketCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ticket", abstract: "Queue tickets for today at a service centre (在线取号; online).",
        subcommands: [List.self, Take.self, Show.self, Cancel.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "My tickets as last synced (positions at issue).")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            try await withSession(global) { session in
                let account = try session.requireAccount()
                let tickets = try session.replica.entities(QueueTicket.self, in: .user(account.id)).sorted { $0.createdAt > $1.createdAt }
                if global.json { return try printJSON(tickets) }
                guard !tickets.isEmpty else { return print("no tickets (take one with `appcli ticket take CENTRE`)") }
                var table = Table(["编号", "号码", "日期", "服务中心", "状态"])
                for ticket in tickets { table.append([ticket.id, ticket.number, ticket.day, ticket.centerId, ticket.status.rawValue]) }
                print(table.render())
            }
        }
    }

    struct Take: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Take a ticket in today's queue.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Service centre id.") var center: String
        @Option(help: "The matter the visit is for.") var matter: String?

        func run() async throws {
            try await TicketCommand.online(global, "ticket take") { session in
                let output = try await session.client.takeQueueTicket(body: .json(.init(centerId: center, matterCode: matter)))
                guard case .created(let created) = output else { throw CLIError.from(output) }
                return try created.body.json
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A ticket with its position now.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Ticket id.") var id: String

        func run() async throws {
            try await TicketCommand.online(global, "ticket show") { session in
                let output = try await session.client.getQueueTicket(path: .init(id: id))
                guard case .ok(let ok) = output else { throw CLIError.from(output) }
                return try ok.body.json
            }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give a waiting ticket up.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Ticket id.") var id: String

        func run() async throws {
            try await TicketCommand.online(global, "ticket cancel") { session in
                let output = try await session.client.cancelQueueTicket(path: .init(id: id))
                guard case .ok(let ok) = output else { throw CLIError.from(output) }
                return try ok.body.json
            }
        }
    }

    /// Runs an online ticket call, prints the ticket, then syncs so the replica has it too.
    fileprivate static func online(
        _ global: GlobalOptions, _ what: String, _ call: (Session) async throws -> Components.Schemas.QueueTicket
    ) async throws {
        try await withSession(global) { session in
            _ = try session.requireAccount()
            try session.requireOnline(what)
            let ticket = try await call(session)
            _ = try? await session.sync()
            if global.json { return try printJSON(ticket) }
            let position = ticket.position.map { $0 == 1 ? "，下一位就是您" : "，前面还有 \($0 - 1) 位" } ?? ""
            print("\(ticket.number)（\(ticket.id)）\(ticket.centerId) \(ticket.day) \(ticket.status.rawValue)\(position)")
        }
    }
}

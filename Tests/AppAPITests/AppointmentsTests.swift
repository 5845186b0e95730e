import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import OneTripAPI
import SyncCore
import Testing

@testable import AppAPI

typealias AppointmentView = Components.Schemas.Appointment
typealias SlotList = Components.Schemas.AppointmentSlotList
typealias TicketView = Components.Schemas.QueueTicket

/// Days relative to today in China time, the zone slots are laid out in.
enum AppointmentDays {
    static var nowMillis: Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    static func fromToday(_ days: Int) -> String { WorkingCalendar.day(fromMillis: nowMillis + Int64(days) * 86_400_000) }

    /// 1 = Sunday … 7 = Saturday.
    static func weekday(_ day: String) -> Int {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = day.split(separator: "-").map { Int($0)! }
        return calendar.component(.weekday, from: calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2]))!)
    }

    /// A Monday-to-Friday day at least two days ahead, so none of its slots has begun.
    static var futureWeekday: String { (2...16).map(fromToday).first { (2...6).contains(weekday($0)) && !seeded.isHoliday($0) }! }
    static var futureSunday: String { (2...16).map(fromToday).first { weekday($0) == 1 && !seeded.isAdjustedWorkday($0) }! }
    /// The seeds' holiday calendar, which the server lays slots out by.
    static let seeded = try! WorkingCalendar(seedJSON: Array(Data(contentsOf: repositoryRoot.appendingPathComponent("seeds/holidays.json"))))
}

/// The demo applicants (citizens and enterprises), each a different account.
enum Applicants {
    static let all: [([String: String], String)] = [
        (["idNumber": Demo.citizen.idNumber], Demo.citizen.password), (["idNumber": Demo.citizen2.idNumber], Demo.citizen2.password),
        (["idNumber": "330108199811230170"], "Citizen2026ch"), (["idNumber": "330110200102142482"], "Citizen2026zyt"),
        (["creditCode": Demo.enterprise.creditCode], Demo.enterprise.password),
    ]
}

extension TestClientProtocol {
    func loginApplicants(_ count: Int) async throws -> [TokenResponse] {
        var tokens: [TokenResponse] = []
        for (identifier, password) in Applicants.all.prefix(count) {
            let response = try await login(identifier, password: password)
            #expect(response.status == .ok, "login failed: \(response.text)")
            tokens.append(try response.json(TokenResponse.self))
        }
        return tokens
    }

    func slots(_ center: String, _ day: String) async throws -> TestResponse { try await get("/v1/service-centers/\(center)/slots?day=\(day)") }

    func book(_ token: String, _ slotId: String, id: String? = nil, extra: [String: Any] = [:]) async throws -> TestResponse {
        var body: [String: Any] = ["slotId": slotId]
        if let id { body["appointmentId"] = id }
        for (key, value) in extra { body[key] = value }
        return try await post("/v1/appointments", json: body, token: token)
    }

    func cancelAppointment(_ token: String, _ id: String) async throws -> TestResponse {
        try await execute(uri: "/v1/appointments/\(id)", method: .delete, headers: [.authorization: "Bearer \(token)"])
    }

    func cancelTicket(_ token: String, _ id: String) async throws -> TestResponse {
        try await execute(uri: "/v1/queue-tickets/\(id)", method: .delete, headers: [.authorization: "Bearer \(token)"])
    }
}

@Suite struct AppointmentsTests {
    /// A town centre open Monday to Friday 08:30–17:00: three places per slot.
    static let town = "sc-town-xixi"

    @Test(arguments: TestEngine.enabled)
    func slotsFollowTheCentresOpeningHours(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let day = AppointmentDays.futureWeekday
            let city = try await client.slots("sc-city", day)
            #expect(city.status == .ok, "\(city.text)")
            let list = try city.json(SlotList.self)
            #expect(list.centerId == "sc-city" && list.day == day)
            #expect(list.items.map(\.start) == ["08:30", "09:30", "10:30", "11:30", "12:30", "13:30", "14:30", "15:30"])
            #expect(list.items.allSatisfy { $0.capacity == 6 && $0.booked == 0 && $0.available == 6 })
            #expect(list.items.first?.id == "sc-city|\(day)|08:30" && list.items.first?.end == "09:30")
            // Asking again returns the same slots, not a second set.
            #expect(try await client.slots("sc-city", day).json(SlotList.self).items.count == 8)
            #expect(try await client.slots(Self.town, day).json(SlotList.self).items.allSatisfy { $0.capacity == 3 })
            #expect(try await client.slots(Self.town, AppointmentDays.futureSunday).json(SlotList.self).items.isEmpty, "closed on Sundays")

            #expect(try await client.slots("sc-nowhere", day).status == .notFound)
            for bad in ["2026-13-01", "tomorrow", AppointmentDays.fromToday(-1), AppointmentDays.fromToday(31)] {
                let response = try await client.slots("sc-city", bad)
                #expect(response.status == .badRequest, "\(bad): \(response.text)")
                #expect(try response.problem().errors?.first?.pointer == "day")
            }
            #expect(try await client.get("/v1/service-centers/sc-city/slots").status == .badRequest)
        }
    }

    @Test(
        "The holiday calendar: 国庆 closes every window, a 调休 Saturday keeps weekday hours, weekends serve the weekend services",
        arguments: TestEngine.enabled)
    func holidaysAndWorkedWeekends(engine: TestEngine) async throws {
        // 2026-09-25, 08:00 in Hangzhou: 国庆 (10-01…10-07) and the worked Saturday 10-10 are within the booking window.
        let clock = ManualClock(Int(WorkingCalendar.startOfDayMillis("2026-09-25")!) + 8 * 3_600_000)
        try await withTestApp(engine, runtime: .manual(clock)) { client in
            let citizen = try await client.loginCitizen()
            #expect(try await client.slots("sc-city", "2026-10-01").json(SlotList.self).items.isEmpty, "closed on 国庆")
            let holiday = try await client.book(citizen.accessToken, "sc-city|2026-10-01|08:30", extra: ["matterCode": "330100-RE-0004"])
            let holidayCode = try holiday.problem().code
            #expect(holiday.status == .unprocessableContent && holidayCode == "invalid_args", "\(holiday.text)")
            // The town centre opens Monday to Friday only, and on the worked Saturday with weekday hours.
            let worked = try await client.slots(Self.town, "2026-10-10").json(SlotList.self).items
            #expect(worked.first?.start == "08:30" && worked.count == 8, "\(worked.map(\.start))")
            let booked = try await client.book(citizen.accessToken, "\(Self.town)|2026-10-10|08:30")
            #expect(booked.status == .created, "\(booked.text)")
            // An ordinary Saturday at the city centre: 不动产登记 is a weekend service, 户籍证明 is not.
            #expect(
                try await client.book(citizen.accessToken, "sc-city|2026-10-17|09:00", extra: ["matterCode": "330100-RE-0004"]).status == .created)
            let refused = try await client.book(citizen.accessToken, "sc-city|2026-10-17|10:00", extra: ["matterCode": "330100-PSN-0006"])
            #expect(refused.status == .unprocessableContent && refused.text.contains("weekends"), "\(refused.text)")
            // Phones hold the same calendar: the `public` scope carries it, with 2027 marked as a projection.
            let (changes, _, _) = try await client.pullAll(citizen.accessToken, clientID: "phone-cal")
            let change = changes.first(where: { $0._type == HolidayCalendar.entityType })
            let published = try #require(change).entity(HolidayCalendar.self)
            #expect(published.years["2026"]?.status == .official && published.isProjected("2027-02-05"))
            #expect(published.workingCalendar.isAdjustedWorkday("2026-10-10") && published.workingCalendar.isHoliday("2026-10-01"))
            let centers = try await client.get("/v1/service-centers").json(Items<Components.Schemas.ServiceCenter>.self).items
            let city = try #require(centers.first { $0.id == "sc-city" })
            #expect(city.closedOnStatutoryHolidays == true && city.weekendServices?.contains("hz-realestate-center") == true)
            #expect(centers.first { $0.id == "sc-chunan" }?.weekendServices == nil, "a centre closed on weekends lists none")
        }
    }

    @Test(arguments: TestEngine.enabled)
    func bookingUpToCapacityThenSlotFullWithAlternativesAndCancelFreesThePlace(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let day = AppointmentDays.futureWeekday
            let slot = "\(Self.town)|\(day)|09:30"
            let people = try await client.loginApplicants(5)
            var ids: [String] = []
            for person in people.prefix(3) {
                let response = try await client.book(person.accessToken, slot, extra: ["matterCode": "330100-RE-0004"])
                #expect(response.status == .created, "\(response.text)")
                let appointment = try response.json(AppointmentView.self)
                #expect(appointment.status == .booked && appointment.slotId == slot && appointment.start == "09:30" && appointment.end == "10:30")
                #expect(appointment.accountId == person.account.id && appointment.matterCode == "330100-RE-0004")
                ids.append(appointment.id)
            }
            let again = try await client.book(people[0].accessToken, slot)
            #expect(try again.status == .conflict && again.problem().code == "already_booked")

            let full = try await client.book(people[3].accessToken, slot)
            #expect(full.status == .conflict, "\(full.text)")
            let problem = try full.problem()
            #expect(problem.code == "slot_full")
            #expect(problem.alternatives == ["\(Self.town)|\(day)|08:30", "\(Self.town)|\(day)|10:30", "\(Self.town)|\(day)|11:30"])
            #expect(problem.errors?.map(\.pointer) == ["/slotId"])
            let listed = try await client.slots(Self.town, day).json(SlotList.self).items.first { $0.id == slot }
            #expect(listed?.booked == 3 && listed?.available == 0)

            // Mine, and only mine.
            let mine = try await client.get("/v1/appointments", token: people[0].accessToken).json(Components.Schemas.AppointmentList.self)
            #expect(mine.items.map(\.id) == [ids[0]])

            // Someone else cannot cancel it; its holder can, once; the place goes to the next applicant.
            #expect(try await client.cancelAppointment(people[1].accessToken, ids[0]).status == .notFound)
            let cancelled = try await client.cancelAppointment(people[0].accessToken, ids[0])
            #expect(cancelled.status == .ok, "\(cancelled.text)")
            #expect(try cancelled.json(AppointmentView.self).status == .cancelled)
            let twice = try await client.cancelAppointment(people[0].accessToken, ids[0])
            #expect(try twice.status == .conflict && twice.problem().code == "invalid_transition")
            #expect(try await client.slots(Self.town, day).json(SlotList.self).items.first { $0.id == slot }?.available == 1)
            #expect(try await client.book(people[3].accessToken, slot, id: "apt-from-app-0001").status == .created)
            #expect(try await client.book(people[4].accessToken, slot).status == .conflict)
            let booked = try await client.get("/v1/appointments?status=booked", token: people[0].accessToken).json(
                Components.Schemas.AppointmentList.self)
            #expect(booked.items.isEmpty)

            // Malformed or impossible requests.
            let unprocessable = [
                "\(Self.town)|\(day)|09:00", "\(Self.town)|\(AppointmentDays.futureSunday)|09:30",
                "\(Self.town)|\(AppointmentDays.fromToday(-1))|09:30",
                "not-a-slot",
            ]
            for bad in unprocessable {
                let response = try await client.book(people[4].accessToken, bad)
                #expect(response.status == .unprocessableContent, "\(bad): \(response.text)")
                #expect(try response.problem().code == "invalid_args")
            }
            #expect(try await client.book(people[4].accessToken, "sc-nowhere|\(day)|09:30").status == .notFound)
            #expect(try await client.book(people[4].accessToken, slot, extra: ["caseId": "case_not_mine"]).status == .notFound)
            let clerk = try await client.loginStaff(Clerks.realEstate)
            #expect(try await client.book(clerk.accessToken, slot).status == .forbidden)
            #expect(try await client.post("/v1/appointments", json: ["slotId": slot]).status == .unauthorized)
        }
    }

    @Test(arguments: TestEngine.enabled)
    func concurrentBookingsNeverOverfillASlot(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let day = AppointmentDays.futureWeekday
            let slot = "\(Self.town)|\(day)|13:30"
            let people = try await client.loginApplicants(5)
            // Nobody has asked for the day yet: the slots are generated by the racing bookings themselves.
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for person in people { group.addTask { try await client.book(person.accessToken, slot).status } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .created }.count == 3 && statuses.filter { $0 == .conflict }.count == 2, "\(statuses)")
            let listed = try await client.slots(Self.town, day).json(SlotList.self).items
            #expect(listed.count == 8 && listed.first { $0.id == slot }?.booked == 3)
        }
    }

    @Test(arguments: TestEngine.enabled)
    func bookingAsASyncMutationIsRefusedWhenFullAndPulledWhenApplied(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let day = AppointmentDays.futureWeekday
            let slot = "\(Self.town)|\(day)|10:30"
            let people = try await client.loginApplicants(4)
            for person in people.prefix(3) { #expect(try await client.book(person.accessToken, slot).status == .created) }

            // The fourth applicant booked offline; the phone accepted it, the server refuses it and names alternatives.
            let phone = people[3]
            let pushed = try await client.push(
                phone.accessToken, clientID: "phone-appt-0001",
                mutations: [mutation(1, "appointment.book", ["appointmentId": "apt_offline_1", "slotId": slot])])
            #expect(pushed.status == .ok, "\(pushed.text)")
            let result = try #require(try pushed.json(PushResponse.self).results.first)
            #expect(result.status == .rejected && result.code == "slot_full")
            let alternatives = result.alternatives ?? []
            #expect(alternatives == ["\(Self.town)|\(day)|09:30", "\(Self.town)|\(day)|11:30", "\(Self.town)|\(day)|08:30"])

            // Rebooking one of them applies, and the appointment reaches the phone in its pull.
            let retry = try await client.push(
                phone.accessToken, clientID: "phone-appt-0001",
                mutations: [mutation(2, "appointment.book", ["appointmentId": "apt_offline_2", "slotId": alternatives[0]])])
            #expect(try retry.json(PushResponse.self).results.map(\.status) == [.applied])
            let user = "user:\(phone.account.id)"
            let (changes, cursors, _) = try await client.pullAll(phone.accessToken, clientID: "phone-appt-0001", cursors: [user: 0])
            let appointments = try changes.filter { $0._type == .appointment }.map { try $0.entity(Appointment.self) }
            #expect(appointments.map(\.id) == ["apt_offline_2"], "the refused booking never reached the server")
            #expect(appointments.first?.status == .booked && appointments.first?.slotId == alternatives[0])
            #expect(!changes.contains { $0.scope != user && $0._type == .appointment })
            #expect(try await client.slots(Self.town, day).json(SlotList.self).items.first { $0.id == alternatives[0] }?.booked == 1)

            // Cancelling through sync frees the place too.
            let cancel = try await client.push(
                phone.accessToken, clientID: "phone-appt-0001", mutations: [mutation(3, "appointment.cancel", ["appointmentId": "apt_offline_2"])])
            #expect(try cancel.json(PushResponse.self).results.map(\.status) == [.applied])
            let after = try await client.pullAll(phone.accessToken, clientID: "phone-appt-0001", cursors: cursors).changes
            #expect(try after.filter { $0._type == .appointment }.map { try $0.entity(Appointment.self).status } == [.cancelled])
            #expect(try await client.slots(Self.town, day).json(SlotList.self).items.first { $0.id == alternatives[0] }?.booked == 0)
            // Other people's appointments cannot be cancelled through sync either.
            let foreign = try await client.push(
                people[0].accessToken, clientID: "phone-appt-0002", mutations: [mutation(1, "appointment.cancel", ["appointmentId": "apt_offline_2"])]
            )
            #expect(try foreign.json(PushResponse.self).results.first?.code == "not_found", "another user's scope holds no such appointment")
        }
    }

    @Test("S40: queue tickets are numbered in order; positions are live, never stale in a synced copy", arguments: TestEngine.enabled)
    func queueTicketsAreNumberedInOrderWithPositions(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            // The city centre opens every day of the week.
            let people = try await client.loginApplicants(3)
            var tickets: [TicketView] = []
            for person in people {
                let response = try await client.post(
                    "/v1/queue-tickets", json: ["centerId": "sc-city", "matterCode": "330100-RE-0004"], token: person.accessToken)
                #expect(response.status == .created, "\(response.text)")
                tickets.append(try response.json(TicketView.self))
            }
            #expect(tickets.map(\.number) == ["A001", "A002", "A003"])
            #expect(tickets.map(\.position) == [1, 2, 3])
            #expect(tickets.allSatisfy { $0.status == .waiting && $0.day == AppointmentDays.fromToday(0) && $0.centerId == "sc-city" })

            let again = try await client.post("/v1/queue-tickets", json: ["centerId": "sc-city"], token: people[0].accessToken)
            #expect(try again.status == .conflict && again.problem().code == "already_queued")

            let third = try await client.get("/v1/queue-tickets/\(tickets[2].id)", token: people[2].accessToken).json(TicketView.self)
            #expect(third.position == 3 && third.number == "A003")
            // The first gives up: the others move forward.
            let cancelled = try await client.cancelTicket(people[0].accessToken, tickets[0].id)
            #expect(try cancelled.status == .ok && cancelled.json(TicketView.self).status == .cancelled)
            #expect(try await client.get("/v1/queue-tickets/\(tickets[2].id)", token: people[2].accessToken).json(TicketView.self).position == 2)
            #expect(try await client.get("/v1/queue-tickets/\(tickets[1].id)", token: people[1].accessToken).json(TicketView.self).position == 1)
            let gone = try await client.get("/v1/queue-tickets/\(tickets[0].id)", token: people[0].accessToken).json(TicketView.self)
            #expect(gone.status == .cancelled && gone.position == nil)
            #expect(try await client.cancelTicket(people[0].accessToken, tickets[0].id).status == .conflict)
            // A new ticket continues the day's numbering.
            let next = try await client.post("/v1/queue-tickets", json: ["centerId": "sc-city"], token: people[0].accessToken).json(TicketView.self)
            #expect(next.number == "A004" && next.position == 3)

            // Only the holder sees a ticket; it reaches the holder's phone through sync.
            #expect(try await client.get("/v1/queue-tickets/\(tickets[2].id)", token: people[0].accessToken).status == .notFound)
            let user = "user:\(people[2].account.id)"
            let changes = try await client.pullAll(people[2].accessToken, clientID: "phone-queue-0003", cursors: [user: 0]).changes
            let synced = try changes.filter { $0._type == .queueTicket }.map { try $0.entity(QueueTicket.self) }
            // S40: the synced copy claims no position (the queue moves without republishing tickets); the route has the live one.
            #expect(synced.map(\.number) == ["A003"] && synced.first?.position == nil, "a synced ticket never shows a stale position")

            #expect(try await client.post("/v1/queue-tickets", json: ["centerId": "sc-nowhere"], token: people[1].accessToken).status == .notFound)
            let badMatter = try await client.post(
                "/v1/queue-tickets", json: ["centerId": "sc-city", "matterCode": "nope"], token: people[1].accessToken)
            #expect(badMatter.status == .unprocessableContent)
        }
    }
}

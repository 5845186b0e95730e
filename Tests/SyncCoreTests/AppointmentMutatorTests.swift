import Foundation
import SyncCore
import Testing

/// What the server holds for appointments: centres and matters (public), cases and appointments (user scopes), and
/// the slots it keeps outside the change log. `serverPush` loads what the server loads (the keys the mutator reads
/// plus the slots of the day), `phonePush` what a phone has (the keys it reads, never a slot).
struct SlotWorld {
    var rows: [EntityKey: [UInt8]] = [:]

    init(centers: [ServiceCenter] = [AppointmentFixtures.town], slotsOn days: [String] = [AppointmentFixtures.monday]) {
        rows[EntityKey(.matter, CaseFixtures.transfer.code)] = SyncJSON.encode(CaseFixtures.transfer)
        for center in centers {
            rows[EntityKey(.serviceCenter, center.id)] = SyncJSON.encode(center)
            for day in days {
                for slot in AppointmentSchedule.slots(for: center, on: day, calendar: .weekendsOnly) {
                    rows[EntityKey(.appointmentSlot, slot.id)] = SyncJSON.encode(slot)
                }
            }
        }
    }

    mutating func put<E: SyncEntity>(_ entity: E) { rows[EntityKey(E.entityType, entity.id)] = SyncJSON.encode(entity) }

    func get<E: SyncEntity>(_ type: E.Type, _ id: String) -> E? {
        rows[EntityKey(E.entityType, id)].flatMap { try? SyncJSON.decoder.decode(E.self, from: Data($0)) }
    }

    /// Runs `M` by name and JSON as the server does; returns the keys written.
    @discardableResult
    mutating func serverPush<M: Mutator>(_ mutator: M.Type, _ args: M.Args, _ context: MutationContext) throws(MutationRejection) -> [EntityKey] {
        let slots = rows.filter { $0.key.type == .appointmentSlot }.mapValues { Optional($0) }
        return try push(M.name, SyncJSON.encode(args), context, extra: slots)
    }

    /// Runs `M` as a phone does: its replica holds no slots.
    @discardableResult
    mutating func phonePush<M: Mutator>(_ mutator: M.Type, _ args: M.Args, _ context: MutationContext) throws(MutationRejection) -> [EntityKey] {
        try push(M.name, SyncJSON.encode(args), context, extra: [:])
    }

    private mutating func push(_ name: String, _ json: [UInt8], _ context: MutationContext, extra: [EntityKey: [UInt8]?]) throws(MutationRejection)
        -> [EntityKey]
    {
        let named = try SyncSchema.oneTrip.mutator(named: name)
        var entities = extra
        for key in try named.reads(json, context: context) where key.type != .appointmentSlot || !extra.isEmpty { entities[key] = .some(rows[key]) }
        var state = MutationState(entities: entities)
        try named.apply(json, to: &state, context: context)
        for key in state.written { rows[key] = state.json(key) }
        return state.written
    }
}

enum AppointmentFixtures {
    /// 2026-06-01 is a Monday; 2026-06-07 a Sunday.
    static let monday = "2026-06-01"
    static let sunday = "2026-06-07"
    /// A town centre open mornings on weekdays: slots 08:30, 09:30 and 10:30, three places each.
    static let town = ServiceCenter(
        id: "sc-town-test", name: "测试镇便民服务中心", level: .town, district: "西湖区", address: "测试路 1 号",
        hours: [OpeningHours(days: "mon-fri", open: "08:30", close: "12:00")], selfService24h: false)
    /// The city centre's seed hours.
    static let city = ServiceCenter(
        id: "sc-city", name: "杭州市民中心行政服务中心", level: .city, district: "上城区", address: "解放东路18号",
        hours: [
            OpeningHours(days: "mon-fri", open: "08:30", close: "17:00"), OpeningHours(days: "sat", open: "09:00", close: "17:00"),
            OpeningHours(days: "sun", open: "09:00", close: "17:00"),
        ], selfService24h: true)

    static func slot(_ time: String, day: String = monday, center: String = town.id) -> String { "\(center)|\(day)|\(time)" }

    /// An account's device a week before `monday`.
    static func phone(_ account: String, at millis: Int64 = CaseFixtures.at("2026-05-25", 8)) -> MutationContext {
        MutationContext(
            accountID: account, role: .citizen, clientID: "phone_\(account)", hlc: HLC(physical: millis, node: "phone_\(account)"), now: millis,
            authoritative: true)
    }
}

@Suite struct AppointmentScheduleTests {
    typealias F = AppointmentFixtures

    @Test func slotsFollowOpeningHoursWholeHoursOnly() {
        let weekday = AppointmentSchedule.slots(for: F.city, on: F.monday, calendar: .weekendsOnly)
        #expect(weekday.map(\.start) == ["08:30", "09:30", "10:30", "11:30", "12:30", "13:30", "14:30", "15:30"], "16:30–17:00 is no whole hour")
        #expect(weekday.first?.end == "09:30" && weekday.allSatisfy { $0.capacity == 6 && $0.booked == 0 })
        #expect(weekday.first?.id == "sc-city|2026-06-01|08:30")
        #expect(
            AppointmentSchedule.slots(for: F.city, on: "2026-06-06", calendar: .weekendsOnly).map(\.start) == [
                "09:00", "10:00", "11:00", "12:00", "13:00", "14:00", "15:00", "16:00",
            ])
        #expect(AppointmentSchedule.slots(for: F.town, on: F.monday, calendar: .weekendsOnly).map(\.start) == ["08:30", "09:30", "10:30"])
        #expect(AppointmentSchedule.slots(for: F.town, on: F.monday, calendar: .weekendsOnly).allSatisfy { $0.capacity == 3 })
        #expect(
            AppointmentSchedule.slots(for: F.town, on: F.sunday, calendar: .weekendsOnly).isEmpty
                && !AppointmentSchedule.opens(F.town, on: F.sunday, calendar: .weekendsOnly))
        #expect(AppointmentSchedule.opens(F.city, on: F.sunday, calendar: .weekendsOnly))
    }

    @Test func daySetsAndTimesParse() {
        var weekend = F.town
        weekend.hours = [OpeningHours(days: "sat-sun", open: "09:00", close: "10:00")]
        #expect(
            AppointmentSchedule.slots(for: weekend, on: F.sunday, calendar: .weekendsOnly).count == 1
                && AppointmentSchedule.slots(for: weekend, on: F.monday, calendar: .weekendsOnly).isEmpty)
        weekend.hours = [OpeningHours(days: "daily", open: "09:00", close: "11:00")]
        #expect(AppointmentSchedule.slots(for: weekend, on: F.sunday, calendar: .weekendsOnly).count == 2)
        #expect(
            AppointmentSchedule.minutes("23:59") == 1439 && AppointmentSchedule.minutes("24:00") == nil && AppointmentSchedule.minutes("9:00") == nil)
        #expect(SlotID("sc-city|2026-06-01|08:30")?.centerId == "sc-city")
        for bad in ["sc-city|2026-02-30|08:30", "sc-city|2026-06-01", "sc-city|2026-06-01|8:30", "|2026-06-01|08:30", "sc city|2026-06-01|08:30"] {
            #expect(SlotID(bad) == nil, "\(bad)")
        }
    }

    @Test func theBookingWindowRunsFromTodayForThirtyDays() {
        let now = CaseFixtures.at("2026-05-25", 23, 59)
        #expect(AppointmentSchedule.bookingWindowProblem("2026-05-25", now: now) == nil)
        #expect(AppointmentSchedule.bookingWindowProblem("2026-06-24", now: now) == nil)
        #expect(AppointmentSchedule.bookingWindowProblem("2026-06-25", now: now) != nil)
        #expect(AppointmentSchedule.bookingWindowProblem("2026-05-24", now: now)?.contains("past") == true)
        #expect(AppointmentSchedule.bookingWindowProblem("2026-5-24", now: now) != nil)
    }
}

@Suite struct AppointmentMutatorTests {
    typealias F = AppointmentFixtures

    @Test func bothMutatorsAreRegistered() throws {
        for name in ["appointment.book", "appointment.cancel"] { #expect(try SyncSchema.oneTrip.mutator(named: name).name == name) }
    }

    @Test func bookingUpToCapacityThenSlotFullWithTheNearestAlternatives() throws {
        var world = SlotWorld()
        for (n, account) in ["acc_a", "acc_b", "acc_c"].enumerated() {
            let written = try world.serverPush(AppointmentBook.self, .init(appointmentId: "apt_\(n)", slotId: F.slot("09:30")), F.phone(account))
            #expect(Set(written) == [EntityKey(.appointment, "apt_\(n)"), EntityKey(.appointmentSlot, F.slot("09:30"))])
        }
        let slot = try #require(world.get(AppointmentSlot.self, F.slot("09:30")))
        #expect(slot.booked == 3 && slot.isFull && slot.bookings.map(\.accountId) == ["acc_a", "acc_b", "acc_c"])
        let booked = try #require(world.get(Appointment.self, "apt_0"))
        #expect(
            booked.status == .booked && booked.day == F.monday && booked.start == "09:30" && booked.end == "10:30" && booked.centerId == F.town.id)

        do {
            try world.serverPush(AppointmentBook.self, .init(appointmentId: "apt_d", slotId: F.slot("09:30")), F.phone("acc_d"))
            Issue.record("a full slot was booked")
        } catch {
            #expect(error.code.rawValue == "slot_full")
            // 08:30 and 10:30 are an hour away each: the earlier first.
            #expect(error.alternatives == [F.slot("08:30"), F.slot("10:30")])
        }
        #expect(
            world.get(Appointment.self, "apt_d") == nil && world.get(AppointmentSlot.self, F.slot("09:30"))?.booked == 3, "a rejection writes nothing"
        )
    }

    @Test func alternativesSkipFullSlotsAndSlotsThatHaveBegun() throws {
        var world = SlotWorld(centers: [F.city])
        let slot = { (time: String) in F.slot(time, center: "sc-city") }
        for n in 0..<6 { try world.serverPush(AppointmentBook.self, .init(appointmentId: "a\(n)", slotId: slot("12:30")), F.phone("acc_\(n)")) }
        for n in 0..<6 { try world.serverPush(AppointmentBook.self, .init(appointmentId: "b\(n)", slotId: slot("13:30")), F.phone("acc_\(n)")) }
        // On the day at 10:45: 08:30–10:30 have begun, 12:30 and 13:30 are full.
        let late = F.phone("acc_x", at: CaseFixtures.at(F.monday, 10, 45))
        #expect {
            try world.serverPush(AppointmentBook.self, .init(appointmentId: "x", slotId: slot("12:30")), late)
        } throws: { error in
            (error as! MutationRejection).alternatives == [slot("11:30"), slot("14:30"), slot("15:30")]
        }
        #expect(throws: MutationRejection(.invalidArgs, "The 10:30 slot on 2026-06-01 has begun.")) {
            try world.serverPush(AppointmentBook.self, .init(appointmentId: "x", slotId: slot("10:30")), late)
        }
    }

    @Test func anAccountHoldsASlotOnce() throws {
        var world = SlotWorld()
        try world.serverPush(AppointmentBook.self, .init(appointmentId: "apt_1", slotId: F.slot("08:30")), F.phone("acc_a"))
        #expect(throws: MutationRejection(.alreadyBooked, "You hold the 08:30 slot on 2026-06-01 already.")) {
            try world.serverPush(AppointmentBook.self, .init(appointmentId: "apt_2", slotId: F.slot("08:30")), F.phone("acc_a"))
        }
        #expect(throws: MutationRejection(.alreadyBooked, "You hold the 08:30 slot on 2026-06-01 already.")) {
            try world.serverPush(AppointmentBook.self, .init(appointmentId: "apt_1", slotId: F.slot("08:30")), F.phone("acc_a"))
        }
        #expect(throws: MutationRejection(.invalidArgs, "appointmentId: 'apt_1' is in use; choose a new one.")) {
            try world.serverPush(AppointmentBook.self, .init(appointmentId: "apt_1", slotId: F.slot("09:30")), F.phone("acc_b"))
        }
        // Another slot the same day is fine.
        try world.serverPush(AppointmentBook.self, .init(appointmentId: "apt_3", slotId: F.slot("09:30")), F.phone("acc_a"))
    }

    @Test func aPhoneBooksOptimisticallyWithoutSlotsButChecksTheSchedule() throws {
        var world = SlotWorld()
        let written = try world.phonePush(AppointmentBook.self, .init(appointmentId: "apt_1", slotId: F.slot("10:30")), F.phone("acc_a"))
        #expect(written == [EntityKey(.appointment, "apt_1")], "a phone never writes a slot it does not have")
        #expect(world.get(Appointment.self, "apt_1")?.end == "11:30")
        let rejections: [(String, MutationRejection)] = [
            (F.slot("11:30"), MutationRejection(.invalidArgs, "测试镇便民服务中心 has no slot at 11:30 on 2026-06-01.")),
            (F.slot("09:30", day: F.sunday), MutationRejection(.invalidArgs, "测试镇便民服务中心 has no slot at 09:30 on 2026-06-07.")),
            (F.slot("09:30", day: "2026-05-24"), MutationRejection(.invalidArgs, "day: 2026-05-24 is in the past")),
            (F.slot("09:30", day: "2026-07-01"), MutationRejection(.invalidArgs, "day: bookings open at most 30 days ahead")),
            (F.slot("09:30", center: "sc-nowhere"), MutationRejection(.notFound, "No service centre has the id 'sc-nowhere'.")),
        ]
        for (slotId, rejection) in rejections {
            #expect(throws: rejection, "\(slotId)") {
                try world.phonePush(AppointmentBook.self, .init(appointmentId: "apt_2", slotId: slotId), F.phone("acc_a"))
            }
        }
        #expect(throws: MutationRejection.self) {
            try world.phonePush(AppointmentBook.self, .init(appointmentId: "apt_2", slotId: "09:30"), F.phone("acc_a"))
        }
        #expect(throws: MutationRejection.self) {
            try world.phonePush(AppointmentBook.self, .init(appointmentId: "bad id!", slotId: F.slot("09:30")), F.phone("acc_a"))
        }
    }

    @Test func aBookingNamesTheApplicantsOwnCaseAndTakesItsMatter() throws {
        var world = SlotWorld()
        world.put(CaseFixtures.draft(CaseFixtures.transfer, id: "case_1"))
        try world.serverPush(
            AppointmentBook.self, .init(appointmentId: "apt_1", slotId: F.slot("08:30"), caseId: "case_1"), F.phone(CaseFixtures.applicantID))
        #expect(world.get(Appointment.self, "apt_1")?.matterCode == CaseFixtures.transfer.code)
        #expect(throws: MutationRejection(.notFound, "No case case_1 for you.")) {
            try world.serverPush(AppointmentBook.self, .init(appointmentId: "apt_2", slotId: F.slot("08:30"), caseId: "case_1"), F.phone("acc_other"))
        }
        #expect(throws: MutationRejection(.invalidArgs, "matterCode: no matter has the code 'no-such-matter'.")) {
            try world.serverPush(
                AppointmentBook.self, .init(appointmentId: "apt_2", slotId: F.slot("08:30"), matterCode: "no-such-matter"), F.phone("acc_b"))
        }
    }

    @Test func cancellingFreesThePlaceOnce() throws {
        var world = SlotWorld()
        for (n, account) in ["acc_a", "acc_b", "acc_c"].enumerated() {
            try world.serverPush(AppointmentBook.self, .init(appointmentId: "apt_\(n)", slotId: F.slot("09:30")), F.phone(account))
        }
        #expect(throws: MutationRejection(.notFound, "No appointment has the id 'apt_0'.")) {
            try world.serverPush(AppointmentCancel.self, .init(appointmentId: "apt_0"), F.phone("acc_b"))
        }
        try world.serverPush(AppointmentCancel.self, .init(appointmentId: "apt_0"), F.phone("acc_a"))
        #expect(world.get(Appointment.self, "apt_0")?.status == .cancelled && world.get(Appointment.self, "apt_0")?.cancelledAt != nil)
        #expect(world.get(AppointmentSlot.self, F.slot("09:30"))?.bookings.map(\.appointmentId) == ["apt_1", "apt_2"])
        #expect(throws: MutationRejection(.invalidTransition, "The appointment is cancelled already.")) {
            try world.serverPush(AppointmentCancel.self, .init(appointmentId: "apt_0"), F.phone("acc_a"))
        }
        #expect(throws: MutationRejection(.notFound, "No appointment has the id 'apt_9'.")) {
            try world.serverPush(AppointmentCancel.self, .init(appointmentId: "apt_9"), F.phone("acc_a"))
        }
        // The freed place goes to the next applicant; a cancelled account may book again with a new id.
        try world.serverPush(AppointmentBook.self, .init(appointmentId: "apt_3", slotId: F.slot("09:30")), F.phone("acc_d"))
        #expect(throws: MutationRejection.self) {
            try world.serverPush(AppointmentBook.self, .init(appointmentId: "apt_4", slotId: F.slot("09:30")), F.phone("acc_a"))
        }
        // Once the slot has begun it cannot be cancelled.
        #expect(throws: MutationRejection(.invalidTransition, "The 09:30 slot on 2026-06-01 has begun; it cannot be cancelled.")) {
            try world.serverPush(AppointmentCancel.self, .init(appointmentId: "apt_1"), F.phone("acc_b", at: CaseFixtures.at(F.monday, 9, 30)))
        }
        // On a phone (no slot) only the appointment changes.
        let written = try world.phonePush(AppointmentCancel.self, .init(appointmentId: "apt_1"), F.phone("acc_b"))
        #expect(written == [EntityKey(.appointment, "apt_1")])
    }

    @Test func theServerRefusesWhatThePhoneAcceptedOptimistically() throws {
        var server = SlotWorld()
        for (n, account) in ["acc_a", "acc_b", "acc_c"].enumerated() {
            try server.serverPush(AppointmentBook.self, .init(appointmentId: "apt_\(n)", slotId: F.slot("10:30")), F.phone(account))
        }
        var phone = SlotWorld(slotsOn: [])
        let args = AppointmentBook.Args(appointmentId: "apt_offline", slotId: F.slot("10:30"))
        try phone.phonePush(AppointmentBook.self, args, F.phone("acc_d"))
        #expect(phone.get(Appointment.self, "apt_offline")?.status == .booked)
        #expect {
            try server.serverPush(AppointmentBook.self, args, F.phone("acc_d"))
        } throws: { error in
            let rejection = error as! MutationRejection
            return rejection.code.rawValue == "slot_full" && rejection.alternatives == [F.slot("09:30"), F.slot("08:30")]
        }
    }
}

/// Opening hours under the holiday calendar: 法定节假日 close the windows, 调休 weekends keep weekday hours, and a
/// weekend day serves only the centre's weekend services — on the server and offline on a phone alike.
@Suite struct HolidayScheduleTests {
    typealias F = AppointmentFixtures
    /// 2026's 国庆 (10-01 to 10-07, Thursday to Wednesday) and its worked Saturday 10-10.
    static let calendar = HolidayCalendar(years: [
        "2026": .init(
            holidays: (1...7).map { "2026-10-0\($0)" }, workdays: ["2026-09-20", "2026-10-10"], status: .official, source: "国办发明电〔2025〕号")
    ])
    static let thursdayHoliday = "2026-10-01"
    static let workedSaturday = "2026-10-10"

    @Test func holidaysCloseTheWindowsAndWorkedWeekendsKeepWeekdayHours() {
        let working = Self.calendar.workingCalendar
        #expect(AppointmentSchedule.slots(for: F.city, on: Self.thursdayHoliday, calendar: working).isEmpty)
        #expect(!AppointmentSchedule.opens(F.town, on: Self.thursdayHoliday, calendar: working))
        // Without the calendar the same Thursday looks like any other.
        #expect(AppointmentSchedule.slots(for: F.city, on: Self.thursdayHoliday, calendar: .weekendsOnly).count == 8)
        var open = F.city
        open.closedOnStatutoryHolidays = false
        #expect(AppointmentSchedule.slots(for: open, on: Self.thursdayHoliday, calendar: working).count == 8, "a centre that stays open")
        // 调休: the city centre's Saturday 09:00 start gives way to weekday hours; a weekday-only town centre opens.
        #expect(AppointmentSchedule.slots(for: F.city, on: Self.workedSaturday, calendar: working).first?.start == "08:30")
        #expect(AppointmentSchedule.slots(for: F.city, on: "2026-10-17", calendar: working).first?.start == "09:00", "an ordinary Saturday")
        #expect(AppointmentSchedule.slots(for: F.town, on: Self.workedSaturday, calendar: working).map(\.start) == ["08:30", "09:30", "10:30"])
        #expect(AppointmentSchedule.slots(for: F.town, on: "2026-09-20", calendar: working).count == 3, "a worked Sunday")
    }

    @Test func aPhoneWithThePublishedCalendarRefusesAHolidayAndBooksAWorkedSaturday() throws {
        var world = SlotWorld(centers: [F.town], slotsOn: [])
        world.put(Self.calendar)
        let phone = F.phone("acc_a", at: CaseFixtures.at("2026-09-25", 8))
        #expect(throws: MutationRejection.self) {
            try world.phonePush(AppointmentBook.self, .init(appointmentId: "apt_h", slotId: F.slot("09:30", day: Self.thursdayHoliday)), phone)
        }
        try world.phonePush(AppointmentBook.self, .init(appointmentId: "apt_s", slotId: F.slot("09:30", day: Self.workedSaturday)), phone)
        #expect(world.get(Appointment.self, "apt_s")?.day == Self.workedSaturday)
    }

    @Test func weekendsServeOnlyTheCentresWeekendServices() throws {
        var city = F.city
        city.weekendServices = ["hz-exit-entry"]
        var world = SlotWorld(centers: [city], slotsOn: [])
        world.put(Self.calendar)
        let phone = F.phone("acc_a", at: CaseFixtures.at("2026-10-08", 8))
        let saturday = "2026-10-17"
        do {
            try world.phonePush(
                AppointmentBook.self,
                .init(appointmentId: "apt_1", slotId: F.slot("09:00", day: saturday, center: city.id), matterCode: CaseFixtures.transfer.code),
                phone)
            Issue.record("a real-estate matter was booked on a Saturday the centre serves exit-entry only")
        } catch {
            #expect(error.code == .invalidArgs && error.detail.contains("weekends"))
        }
        #expect(throws: MutationRejection.self, "a weekend booking names its matter") {
            try world.phonePush(AppointmentBook.self, .init(appointmentId: "apt_2", slotId: F.slot("09:00", day: saturday, center: city.id)), phone)
        }
        city.weekendServices = [CaseFixtures.transfer.departmentId]
        world.put(city)
        try world.phonePush(
            AppointmentBook.self,
            .init(appointmentId: "apt_3", slotId: F.slot("09:00", day: saturday, center: city.id), matterCode: CaseFixtures.transfer.code), phone)
        // A worked Saturday is a working day: any service.
        try world.phonePush(
            AppointmentBook.self, .init(appointmentId: "apt_4", slotId: F.slot("08:30", day: Self.workedSaturday, center: city.id)), phone)
    }

    @Test func theSeedsCalendarSaysWhichYearsAreProjections() throws {
        #expect(Self.calendar.validationProblems.isEmpty)
        #expect(!Self.calendar.isProjected("2026-10-01") && Self.calendar.isProjected("2027-01-01"))
        var broken = Self.calendar
        broken.years["2027"] = .init(holidays: ["2026-12-31"], workdays: [])
        #expect(broken.validationProblems.count == 2, "\(broken.validationProblems)")
    }
}

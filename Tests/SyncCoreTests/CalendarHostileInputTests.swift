import Foundation
import SyncCore
import Testing

/// Whatever a device sends as a day or a count, the calendar answers at once and never stops the process (S3).
@Suite struct CalendarHostileInputTests {
    typealias F = CaseFixtures
    let calendar = CaseFixtures.calendar2026

    @Test("S3: a huge working-day count is refused at once") func aHugeCountIsRefusedAtOnce() {
        let started = ContinuousClock.now
        for n in [1_000_000_000_000, Int.max, Int.min, -1_000_000_000_000, WorkingCalendar.maxWorkingDays + 1] {
            #expect(calendar.addingWorkingDays(n, to: "2026-10-01") == nil, "\(n)")
        }
        #expect(ContinuousClock.now - started < .milliseconds(100))
        #expect(calendar.addingWorkingDays(WorkingCalendar.maxWorkingDays, to: "2026-10-01") != nil, "the bound itself is counted")
        #expect(calendar.addingWorkingDays(-WorkingCalendar.maxWorkingDays, to: "2026-10-01") != nil)
    }

    @Test func theLastDayTheCalendarKnowsHasNoSuccessor() throws {
        #expect(calendar.addingWorkingDays(1, to: "9999-12-31") == nil)
        #expect(calendar.addingWorkingDays(0, to: "9999-12-31") == "9999-12-31", "a Friday")
        #expect(calendar.addingWorkingDays(-1, to: "9999-12-31") == "9999-12-30")
        #expect(calendar.addingWorkingDays(-1, to: "1900-01-01") == nil)
        let started = ContinuousClock.now
        let span = try #require(calendar.workingDays(from: "1900-01-01", to: "9999-12-31"))
        #expect(ContinuousClock.now - started < .milliseconds(50), "counted, not walked")
        #expect(span > 2_000_000 && calendar.workingDays(from: "9999-12-31", to: "1900-01-01") == -span)
    }

    @Test(arguments: ["117019-01-25", "", "2026-02-30", "abcd-ef-gh", "2026-10-01\n", "10000-01-01", "-001-01-01"])
    func aStringThatIsNotADateGivesNoAnswer(day: String) {
        #expect(!calendar.isWorkingDay(day))
        #expect(calendar.addingWorkingDays(3, to: day) == nil)
        #expect(calendar.addingWorkingDays(0, to: day) == nil)
        #expect(calendar.workingDays(from: day, to: "2026-10-01") == nil)
        #expect(calendar.workingDays(from: "2026-10-01", to: day) == nil)
        #expect(WorkingCalendar.startOfDayMillis(day) == nil)
    }

    @Test func instantsOutsideTheKnownYearsGiveItsFirstOrLastDay() {
        #expect(WorkingCalendar.day(fromMillis: .max) == "9999-12-31")
        #expect(WorkingCalendar.day(fromMillis: .min) == "1900-01-01")
        #expect(WorkingCalendar.day(fromMillis: 300_000_000_000_000) == "9999-12-31")
        #expect(WorkingCalendar.isValidDay(WorkingCalendar.day(fromMillis: -9_000_000_000_000)))
    }

    @Test("S3: accepting a trillion-day promise ends at once") func acceptingAPromiseOfATrillionDaysEndsAtOnceWithTheLatestDeadlineCounted() throws {
        var draft = F.draft(F.inheritance)
        draft.promisedDays = 1_000_000_000_000
        let started = ContinuousClock.now
        let accepted = try F.walk(
            draft, [(.submit, F.applicant, F.at("2026-09-30", 9), nil, .init()), (.accept, F.clerk, F.at("2026-09-30", 10), nil, .init())])
        #expect(ContinuousClock.now - started < .milliseconds(100))
        #expect(accepted.deadline == calendar.addingWorkingDays(WorkingCalendar.maxWorkingDays, to: "2026-09-30"))
    }

    @Test("S3: resuming with an impossible stored deadline never crashes") func resumingACaseWithAnImpossibleStoredDeadlineKeepsIt() throws {
        var caseFile = try F.walk(
            try F.accepted(F.inheritance, on: "2026-09-30"),
            [(.startReview, F.clerk, F.at("2026-10-08", 9), nil, .init()), (.suspend, F.clerk, F.at("2026-10-08", 10), "等待核实", .init())]
        )
        caseFile.deadline = "117019-01-25"
        let resumed = try F.walk(caseFile, [(.resume, F.clerk, F.at("2026-10-12", 9), nil, .init())])
        #expect(resumed.state == .underReview && resumed.deadline == "117019-01-25" && resumed.suspendedWorkingDays == 3)
        var since = caseFile
        since.suspendedSince = "not a day"
        #expect(try F.walk(since, [(.resume, F.clerk, F.at("2026-10-12", 9), nil, .init())]).suspendedWorkingDays == 0)
    }
}

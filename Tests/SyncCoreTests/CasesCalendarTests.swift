import Foundation
import SyncCore
import Testing

@Suite struct CasesCalendarTests {
    let calendar = CaseFixtures.calendar2026

    @Test func nationalDayAndMidAutumnAreOffAndTheirMakeUpWeekendsAreWorked() {
        for day in 1...7 { #expect(!calendar.isWorkingDay("2026-10-0\(day)"), "10-0\(day) is a National Day holiday") }
        #expect(!calendar.isWorkingDay("2026-09-25"), "Friday, 中秋节")
        #expect(!calendar.isWorkingDay("2026-09-27"), "a Sunday inside the 中秋 holiday")
        #expect(calendar.isWorkingDay("2026-09-20"), "Sunday, 调休上班")
        #expect(calendar.isWorkingDay("2026-10-10"), "Saturday, 调休上班")
        #expect(!calendar.isWorkingDay("2026-10-11"), "an ordinary Sunday")
        #expect(!calendar.isWorkingDay("2026-09-19"), "an ordinary Saturday")
        #expect(calendar.isWorkingDay("2026-09-30") && calendar.isWorkingDay("2026-10-08"))
        #expect(calendar.isWorkingDay("2026-02-14") && !calendar.isWorkingDay("2026-02-17"), "春节: make-up Saturday, holiday Tuesday")
    }

    @Test func addingWorkingDaysSkipsHolidaysAndCountsMakeUpDays() {
        #expect(calendar.addingWorkingDays(0, to: "2026-09-30") == "2026-09-30", "0 days: a working day is its own deadline")
        #expect(calendar.addingWorkingDays(0, to: "2026-10-01") == "2026-10-08", "0 days from a holiday: the next working day")
        #expect(calendar.addingWorkingDays(1, to: "2026-09-30") == "2026-10-08")
        #expect(calendar.addingWorkingDays(2, to: "2026-09-30") == "2026-10-09")
        #expect(calendar.addingWorkingDays(3, to: "2026-09-30") == "2026-10-10", "the make-up Saturday counts")
        #expect(calendar.addingWorkingDays(4, to: "2026-09-30") == "2026-10-12")
        #expect(calendar.addingWorkingDays(5, to: "2026-09-24") == "2026-10-09", "across 中秋 and 国庆")
        #expect(calendar.addingWorkingDays(1, to: "2026-09-18") == "2026-09-20", "Friday + 1 is the make-up Sunday")
        #expect(calendar.addingWorkingDays(1, to: "2026-10-03") == "2026-10-08", "n days counted after a holiday start")
        #expect(calendar.addingWorkingDays(-1, to: "2026-10-08") == "2026-09-30")
        #expect(calendar.addingWorkingDays(1, to: "2026-12-31") == "2027-01-01", "beyond the known years: weekends only")
    }

    @Test func workingDaysCountTheHalfOpenRange() {
        #expect(calendar.workingDays(from: "2026-09-24", to: "2026-10-09") == 5)
        #expect(calendar.workingDays(from: "2026-09-30", to: "2026-10-07") == 0, "all of 国庆 is off")
        #expect(calendar.workingDays(from: "2026-10-09", to: "2026-10-10") == 1)
        #expect(calendar.workingDays(from: "2026-09-30", to: "2026-09-30") == 0)
        #expect(calendar.workingDays(from: "2026-10-09", to: "2026-09-24") == -5)
    }

    @Test func addingAndCountingAreInverse() throws {
        var random = SeededGenerator(seed: 2026)
        for _ in 0..<300 {
            let start = try #require(calendar.addingWorkingDays(Int(random.next(upTo: 400)) - 200, to: "2026-06-15"))
            let startMillis = try #require(WorkingCalendar.startOfDayMillis(start))
            let other = WorkingCalendar.day(fromMillis: startMillis + Int64(random.next(upTo: 60)) * 86_400_000)
            let n = Int(random.next(upTo: 40)) + 1
            #expect(calendar.workingDays(from: start, to: try #require(calendar.addingWorkingDays(n, to: start))) == n)
            let mid = try #require(calendar.addingWorkingDays(Int(random.next(upTo: 10)), to: start))
            let first = try #require(calendar.workingDays(from: start, to: mid))
            let second = try #require(calendar.workingDays(from: mid, to: other))
            #expect(first + second == calendar.workingDays(from: start, to: other))
            #expect(calendar.isWorkingDay(try #require(calendar.addingWorkingDays(Int(random.next(upTo: 5)), to: other))))
        }
    }

    @Test func countingByArithmeticAgreesWithWalkingDayByDay() throws {
        // The 2026 calendar's holidays and make-up days, across the year boundary both ways.
        var random = SeededGenerator(seed: 7)
        for _ in 0..<200 {
            let origin = try #require(WorkingCalendar.startOfDayMillis("2025-12-01"))
            let from = WorkingCalendar.day(fromMillis: origin + Int64(random.next(upTo: 420)) * 86_400_000)
            let to = WorkingCalendar.day(fromMillis: origin + Int64(random.next(upTo: 420)) * 86_400_000)
            var walked = 0
            var day = min(from, to)
            while day < max(from, to) {
                day = WorkingCalendar.day(fromMillis: try #require(WorkingCalendar.startOfDayMillis(day)) + 86_400_000)
                if calendar.isWorkingDay(day) { walked += 1 }
            }
            #expect(calendar.workingDays(from: from, to: to) == (from <= to ? walked : -walked), "\(from) → \(to)")
        }
    }

    @Test func daysAreChinaTime() {
        let midnight: Int64 = 1_790_784_000_000  // 2026-09-30T16:00:00Z = 2026-10-01 00:00 in Hangzhou
        #expect(calendar.day(fromMillis: midnight) == "2026-10-01")
        #expect(calendar.day(fromMillis: midnight - 1) == "2026-09-30")
        #expect(WorkingCalendar.startOfDayMillis("2026-10-01") == midnight)
        #expect(WorkingCalendar.day(fromMillis: -1) == "1970-01-01", "07:59:59.999 on 1 January 1970 in China")
        #expect(WorkingCalendar.day(fromMillis: -8 * 3_600_000 - 1) == "1969-12-31")
    }

    @Test func onlyRealDatesAreValid() {
        for day in ["2026-10-01", "2028-02-29", "2000-02-29", "1900-01-01"] { #expect(WorkingCalendar.isValidDay(day), "\(day)") }
        for day in ["2026-02-29", "1900-02-29", "2026-13-01", "2026-00-10", "2026-04-31", "2026-1-01", "2026/10/01", "", "２０２６-10-01", "2026-10-01 "]
        {
            #expect(!WorkingCalendar.isValidDay(day), "\(day)")
        }
    }

    @Test func theSeedFileIsTheCalendarTheseTestsUse() throws {
        let seedURL = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("seeds/holidays.json")
        let seeded = try WorkingCalendar(seedJSON: Array(try Data(contentsOf: seedURL)))
        #expect(seeded.holidays.filter { $0.hasPrefix("2026") } == calendar.holidays)
        #expect(seeded.workdays.filter { $0.hasPrefix("2026") } == calendar.workdays)
        #expect(seeded.isWorkingDay("2027-10-09") && !seeded.isWorkingDay("2027-10-07"))
    }

    @Test func codableAsTwoSortedLists() throws {
        let small = WorkingCalendar(holidays: ["2026-10-02", "2026-10-01"], workdays: ["2026-10-10"])
        let json = String(decoding: SyncJSON.encode(small), as: UTF8.self)
        #expect(json == #"{"holidays":["2026-10-01","2026-10-02"],"workdays":["2026-10-10"]}"#)
        #expect(try SyncJSON.decoder.decode(WorkingCalendar.self, from: Data(json.utf8)) == small)
        #expect(throws: DecodingError.self) {
            try SyncJSON.decoder.decode(WorkingCalendar.self, from: Data(#"{"holidays":["2026-02-30"],"workdays":[]}"#.utf8))
        }
    }
}

import Foundation

/// Working days (工作日) as China's State Council sets them each year: Monday to Friday, less the official
/// holidays (法定节假日), plus the weekend days moved to be worked (调休上班). Promised deadlines of cases count
/// in these days. Dates are `YYYY-MM-DD` strings in China time (Asia/Shanghai, a fixed UTC+08:00 without
/// daylight saving since 1991), so the arithmetic here is plain integer day numbers: no `Calendar`, no time-zone
/// database, and identical results on a server and on a phone set to any zone.
///
/// Every function is total: a string that is not a real `YYYY-MM-DD` date (years 1900–9999), a count beyond
/// `maxWorkingDays` or a result past 9999-12-31 gives `nil` (or `false`), never a trap, and each call takes bounded
/// time whatever a device sent. The calendar only knows the years it was given, and beyond them sees weekends only.
public struct WorkingCalendar: Sendable, Equatable, Codable {
    /// Official holidays, as day numbers (days since 1970-01-01).
    private let holidayNumbers: Set<Int64>
    /// Weekend days that are worked (调休), as day numbers.
    private let workdayNumbers: Set<Int64>

    /// Builds a calendar from official holidays and adjusted working weekend days; malformed dates are ignored.
    public init(holidays: some Sequence<String>, workdays: some Sequence<String>) {
        holidayNumbers = Set(holidays.compactMap(Self.dayNumber))
        workdayNumbers = Set(workdays.compactMap(Self.dayNumber))
    }

    /// A calendar with weekends only, no holidays: for code paths that never compute a deadline.
    public static let weekendsOnly = WorkingCalendar(holidays: [String](), workdays: [String]())

    /// Loads `seeds/holidays.json`: `{"calendar": "CN", "years": {"2026": {"holidays": […], "workdays": […]}}}`.
    public init(seedJSON: [UInt8]) throws {
        struct Year: Decodable {
            var holidays: [String]
            var workdays: [String]
        }
        struct Seed: Decodable { var years: [String: Year] }
        let seed = try SyncJSON.decoder.decode(Seed.self, from: Data(seedJSON))
        let malformed = seed.years.values.flatMap { $0.holidays + $0.workdays }.filter { !Self.isValidDay($0) }
        guard malformed.isEmpty else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "not YYYY-MM-DD dates: \(malformed)"))
        }
        self.init(holidays: seed.years.values.flatMap(\.holidays), workdays: seed.years.values.flatMap(\.workdays))
    }

    /// The official holidays, sorted.
    public var holidays: [String] { holidayNumbers.sorted().map(Self.dayString) }

    /// The adjusted working weekend days (调休), sorted.
    public var workdays: [String] { workdayNumbers.sorted().map(Self.dayString) }

    // MARK: Queries

    /// Whether `day` is an official holiday (法定节假日 and the rest days joined to it).
    public func isHoliday(_ day: String) -> Bool { Self.dayNumber(day).map(holidayNumbers.contains) ?? false }

    /// Whether `day` is a weekend day worked in lieu (调休上班): offices keep weekday hours on it.
    public func isAdjustedWorkday(_ day: String) -> Bool { Self.dayNumber(day).map(workdayNumbers.contains) ?? false }

    /// The most working days `addingWorkingDays` counts in either direction: about 14 years, far beyond any promised
    /// deadline, and small enough that a count sent by a device cannot hold a writer for long.
    public static let maxWorkingDays = 3660

    /// Whether offices work on `day`: a holiday never; a weekend day only when it is an adjusted workday; a string that
    /// is not a date never.
    public func isWorkingDay(_ day: String) -> Bool {
        guard let number = Self.dayNumber(day) else { return false }
        return isWorkingDay(number: number)
    }

    /// The working day `n` working days after `day`; for `n == 0`, `day` itself when it is a working day, else the
    /// next working day (so a same-day 即办件 accepted on a Saturday is due on Monday). A negative `n` counts back.
    /// `nil` when `day` is not a date, `|n|` exceeds `maxWorkingDays`, or the answer falls outside 1900–9999.
    public func addingWorkingDays(_ n: Int, to day: String) -> String? {
        guard var number = Self.dayNumber(day), n.magnitude <= UInt(Self.maxWorkingDays) else { return nil }
        if n == 0 {
            while !isWorkingDay(number: number) {
                number += 1
                guard number <= Self.lastDayNumber else { return nil }
            }
            return Self.dayString(number)
        }
        let step: Int64 = n > 0 ? 1 : -1
        var remaining = n.magnitude
        while remaining > 0 {
            number += step
            guard (Self.firstDayNumber...Self.lastDayNumber).contains(number) else { return nil }
            if isWorkingDay(number: number) { remaining -= 1 }
        }
        return Self.dayString(number)
    }

    /// The number of working days in `(from, to]`: after `from`, up to and including `to`. Negative when `to` is
    /// before `from`, so that `workingDays(a, b) + workingDays(b, c) == workingDays(a, c)`; `nil` when either is not
    /// a date. Counted by arithmetic, not day by day, so any two dates answer at once.
    public func workingDays(from: String, to: String) -> Int? {
        guard let start = Self.dayNumber(from), let end = Self.dayNumber(to) else { return nil }
        if end < start { return -countWorkingDays(after: end, through: start) }
        return countWorkingDays(after: start, through: end)
    }

    /// The China-time date of an instant given in milliseconds since 1970 (clamped to 1900-01-01…9999-12-31).
    public func day(fromMillis millis: Int64) -> String { Self.day(fromMillis: millis) }

    // MARK: Dates without a calendar instance

    /// The China-time date of an instant given in milliseconds since 1970. Instants before 1900 or after 9999 give the
    /// first or last day the calendar knows, so the answer is always a valid day.
    public static func day(fromMillis millis: Int64) -> String {
        let (shifted, overflow) = millis.addingReportingOverflow(chinaOffsetMillis)
        let number = overflow ? lastDayNumber : floorDivide(shifted, millisPerDay)
        return dayString(min(max(number, firstDayNumber), lastDayNumber))
    }

    /// Milliseconds since 1970 at 00:00 China time on `day`, or `nil` when `day` is not a date.
    public static func startOfDayMillis(_ day: String) -> Int64? {
        dayNumber(day).map { $0 * millisPerDay - chinaOffsetMillis }
    }

    /// Whether `day` is a real date written `YYYY-MM-DD` (years 1900–9999).
    public static func isValidDay(_ day: String) -> Bool { dayNumber(day) != nil }

    // MARK: Codable — the two sorted lists of dates

    private enum CodingKeys: String, CodingKey { case holidays, workdays }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let holidays = try container.decode([String].self, forKey: .holidays)
        let workdays = try container.decode([String].self, forKey: .workdays)
        if let bad = (holidays + workdays).first(where: { !Self.isValidDay($0) }) {
            throw DecodingError.dataCorruptedError(forKey: .holidays, in: container, debugDescription: "not a YYYY-MM-DD date: \(bad)")
        }
        self.init(holidays: holidays, workdays: workdays)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(holidays, forKey: .holidays)
        try container.encode(workdays, forKey: .workdays)
    }

    // MARK: Day numbers

    private static let millisPerDay: Int64 = 86_400_000
    /// Asia/Shanghai has been UTC+08:00 all year round since 1991.
    private static let chinaOffsetMillis: Int64 = 8 * 3_600_000

    private func isWorkingDay(number: Int64) -> Bool {
        if holidayNumbers.contains(number) { return false }
        if workdayNumbers.contains(number) { return true }
        // 1970-01-01 was a Thursday: with Monday = 0, weekday = (number + 3) mod 7; 5 and 6 are the weekend.
        return Self.isWeekday(number)
    }

    /// Working days in `(start, end]` for `start <= end`: weekdays by arithmetic, then the holidays and adjusted
    /// workdays inside the range (a few dozen a year) correct it.
    private func countWorkingDays(after start: Int64, through end: Int64) -> Int {
        var count = Self.weekdays(before: end + 1) - Self.weekdays(before: start + 1)
        for holiday in holidayNumbers where holiday > start && holiday <= end && Self.isWeekday(holiday) { count -= 1 }
        for workday in workdayNumbers where workday > start && workday <= end && !Self.isWeekday(workday) && !holidayNumbers.contains(workday) {
            count += 1
        }
        return Int(count)
    }

    private static func isWeekday(_ number: Int64) -> Bool { floorModulo(number + 3, 7) < 5 }

    /// Monday-to-Friday days among the day numbers before `number`, counted from a Monday origin (only differences
    /// of this count mean anything).
    private static func weekdays(before number: Int64) -> Int64 {
        // Day number -3 was a Monday; shifting by 3 makes every multiple of 7 a Monday.
        let shifted = number + 3
        return floorDivide(shifted, 7) * 5 + min(floorModulo(shifted, 7), 5)
    }

    /// 1900-01-01 and 9999-12-31: the days `dayNumber` accepts.
    static let firstDayNumber: Int64 = daysFromCivil(year: 1900, month: 1, day: 1)
    static let lastDayNumber: Int64 = daysFromCivil(year: 9999, month: 12, day: 31)

    /// Days since 1970-01-01 of a `YYYY-MM-DD` date, or `nil` when it is not a real date.
    static func dayNumber(_ day: String) -> Int64? {
        let bytes = Array(day.utf8)
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-") else { return nil }
        func number(_ range: Range<Int>) -> Int64? {
            var value: Int64 = 0
            for byte in bytes[range] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let dayOfMonth = number(8..<10),
            (1900...9999).contains(year), (1...12).contains(month), dayOfMonth >= 1, dayOfMonth <= daysIn(month: month, year: year)
        else { return nil }
        return daysFromCivil(year: year, month: month, day: dayOfMonth)
    }

    static func dayString(_ number: Int64) -> String {
        let (year, month, day) = civilFromDays(number)
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    private static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    // Howard Hinnant's proleptic-Gregorian conversions (chrono-compatible low-level date algorithms).
    private static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = floorDivide(y, 400)
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    private static func civilFromDays(_ number: Int64) -> (Int64, Int64, Int64) {
        let z = number + 719_468
        let era = floorDivide(z, 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    private static func floorModulo(_ a: Int64, _ b: Int64) -> Int64 { ((a % b) + b) % b }
}

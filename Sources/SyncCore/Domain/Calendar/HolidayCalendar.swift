/// The official holiday calendar as published in the `public` scope (`seeds/holidays.json`): per year the holidays
/// and the weekend days worked in lieu, and whether the year follows the State Council's notice or is a projection
/// made before the notice appeared. Phones count deadlines and lay out appointment slots with it offline, exactly as
/// the server does.
public struct HolidayCalendar: Codable, Hashable, Sendable {
    public struct Year: Codable, Hashable, Sendable {
        public var holidays: [String]
        public var workdays: [String]
        /// `official` (the State Council's notice) or `projected` (no notice yet; re-seeded when it appears).
        public var status: YearStatus?
        /// The notice a year follows, or why it is a projection.
        public var source: String?

        public init(holidays: [String], workdays: [String], status: YearStatus? = nil, source: String? = nil) {
            self.holidays = holidays
            self.workdays = workdays
            self.status = status
            self.source = source
        }
    }

    public enum YearStatus: String, Codable, Hashable, Sendable {
        case official
        case projected
    }

    /// The calendar's country code: `CN`.
    public var calendar: String
    /// Years (`"2026"`) to their days.
    public var years: [String: Year]

    public init(calendar: String = HolidayCalendar.id, years: [String: Year]) {
        self.calendar = calendar
        self.years = years
    }

    /// The id of the one calendar OneTrip publishes.
    public static let id = "CN"

    /// The working-day arithmetic over every year.
    public var workingCalendar: WorkingCalendar {
        WorkingCalendar(holidays: years.values.flatMap(\.holidays), workdays: years.values.flatMap(\.workdays))
    }

    /// Whether `day` lies in a year the calendar holds only as a projection, or in no year it holds at all.
    public func isProjected(_ day: String) -> Bool {
        guard let year = years[String(day.prefix(4))] else { return true }
        return year.status != .official
    }

    /// Problems of the seed: malformed dates, a day listed twice, a date outside its year, a year without a status.
    public var validationProblems: [String] {
        var problems: [String] = []
        for (name, year) in years.sorted(by: { $0.key < $1.key }) {
            let days = year.holidays + year.workdays
            for day in days where !WorkingCalendar.isValidDay(day) || !day.hasPrefix(name + "-") {
                problems.append("holidays \(name): \(day) is not a date of \(name)")
            }
            if Set(days).count != days.count { problems.append("holidays \(name): a day is listed twice") }
            if year.status == nil { problems.append("holidays \(name): no status (official or projected)") }
            if year.status == .official && (year.source ?? "").isEmpty { problems.append("holidays \(name): an official year names its notice") }
        }
        return problems
    }
}

extension HolidayCalendar: SyncEntity {
    /// `holiday_calendar`
    public static let entityType: EntityType = .holidayCalendar
    public var id: String { calendar }
}

extension EntityType {
    /// The official holiday calendar (`HolidayCalendar`), in the `public` scope.
    public static let holidayCalendar = EntityType("holiday_calendar")
}

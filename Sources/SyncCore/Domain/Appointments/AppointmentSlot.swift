import Foundation

/// One bookable hour at a service centre, with its capacity and who holds it. Server-side state: the server keeps
/// slots in their own table and loads them into a `MutationState` beside what a mutator reads; they are never
/// published, so on a phone a slot is absent and an optimistic booking succeeds until the server rules on it.
public struct AppointmentSlot: SyncEntity {
    public static let entityType: EntityType = .appointmentSlot

    /// `<centerId>|<day>|<HH:MM>` (see `SlotID`).
    public var id: String
    public var centerId: String
    /// YYYY-MM-DD, China time.
    public var day: String
    /// HH:MM, China time.
    public var start: String
    public var end: String
    public var capacity: Int
    /// The appointments holding the slot, in booking order (their holders are needed for `already_booked`).
    public var bookings: [SlotBooking]

    public init(centerId: String, day: String, start: String, end: String, capacity: Int, bookings: [SlotBooking] = []) {
        self.id = SlotID(centerId: centerId, day: day, start: start).rawValue
        self.centerId = centerId
        self.day = day
        self.start = start
        self.end = end
        self.capacity = capacity
        self.bookings = bookings
    }

    /// Appointments holding the slot.
    public var booked: Int { bookings.count }
    /// Places still free.
    public var available: Int { max(0, capacity - booked) }
    public var isFull: Bool { booked >= capacity }
    /// Milliseconds since 1970 when the slot begins.
    public var startMillis: Int64 { SlotID(centerId: centerId, day: day, start: start).startMillis }
}

/// One appointment holding a slot.
public struct SlotBooking: Codable, Hashable, Sendable {
    public var appointmentId: String
    public var accountId: String

    public init(appointmentId: String, accountId: String) {
        self.appointmentId = appointmentId
        self.accountId = accountId
    }
}

/// A slot id, `<centerId>|<day>|<HH:MM>`, taken apart.
public struct SlotID: Hashable, Sendable, CustomStringConvertible {
    public var centerId: String
    public var day: String
    public var start: String

    public init(centerId: String, day: String, start: String) {
        self.centerId = centerId
        self.day = day
        self.start = start
    }

    /// Parses a slot id; `nil` unless it names a plausible centre id, a real date and a real time.
    public init?(_ raw: String) {
        let parts = raw.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, (1...64).contains(parts[0].count),
            parts[0].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }),
            WorkingCalendar.isValidDay(parts[1]), AppointmentSchedule.minutes(parts[2]) != nil
        else { return nil }
        self.init(centerId: parts[0], day: parts[1], start: parts[2])
    }

    public var rawValue: String { "\(centerId)|\(day)|\(start)" }
    public var description: String { rawValue }

    /// Milliseconds since 1970 when the slot begins (the id must be valid).
    public var startMillis: Int64 {
        (WorkingCalendar.startOfDayMillis(day) ?? 0) + Int64(AppointmentSchedule.minutes(start) ?? 0) * 60_000
    }
}

/// How a service centre's appointment diary is laid out: hourly slots from opening time while a whole hour fits
/// before closing, on the days its opening hours name as the holiday calendar adjusts them (closed on 法定节假日,
/// weekday hours on 调休 working weekends); 6 places per slot at city and district centres, 3 at town and village
/// ones. Server (lazily materialising slots) and phones (validating a booking offline, with the calendar of the
/// `public` scope) share it.
public enum AppointmentSchedule {
    public static let slotMinutes = 60
    /// Bookings open this many days ahead (today included, so a day from today to today + 30).
    public static let bookingWindowDays = 30

    /// Places per slot at a centre of `level`.
    public static func capacity(for level: ServiceCenterLevel) -> Int {
        switch level {
        case .city, .district: 6
        case .town, .village: 3
        }
    }

    /// The slots `center` offers on `day` under `calendar`, earliest first, none booked; empty on days it is closed.
    public static func slots(for center: ServiceCenter, on day: String, calendar: WorkingCalendar) -> [AppointmentSlot] {
        guard let weekday = scheduleWeekday(of: center, on: day, calendar: calendar) else { return [] }
        var starts: [Int: Int] = [:]  // start minute → end minute
        for hours in center.hours where opens(hours.days, on: weekday) {
            guard let open = minutes(hours.open), let close = minutes(hours.close) else { continue }
            var start = open
            while start + slotMinutes <= close {
                starts[start] = start + slotMinutes
                start += slotMinutes
            }
        }
        return starts.keys.sorted().map { start in
            AppointmentSlot(
                centerId: center.id, day: day, start: clock(start), end: clock(starts[start]!), capacity: capacity(for: center.level))
        }
    }

    /// Whether `center` opens its windows at all on `day` under `calendar`.
    public static func opens(_ center: ServiceCenter, on day: String, calendar: WorkingCalendar) -> Bool {
        guard let weekday = scheduleWeekday(of: center, on: day, calendar: calendar) else { return false }
        return center.hours.contains { opens($0.days, on: weekday) }
    }

    /// The weekday whose opening hours `center` keeps on `day`: none on an official holiday (unless the centre stays
    /// open on holidays), Monday's on a weekend day worked in lieu (调休上班 keeps weekday hours), else the day's own.
    static func scheduleWeekday(of center: ServiceCenter, on day: String, calendar: WorkingCalendar) -> Int? {
        guard let weekday = weekday(of: day) else { return nil }
        if calendar.isHoliday(day) { return center.closesOnHolidays ? nil : weekday }
        if calendar.isAdjustedWorkday(day) { return 0 }
        return weekday
    }

    /// Why `center` cannot serve a matter of `departmentId` on `day` (`nil`: it can): on a weekend day that is not
    /// worked, a centre with a weekend service list serves only those departments, and an appointment must name its
    /// matter.
    public static func weekendServiceProblem(_ center: ServiceCenter, on day: String, departmentId: String?, calendar: WorkingCalendar)
        -> String?
    {
        guard let weekday = weekday(of: day), weekday >= 5, !calendar.isAdjustedWorkday(day), let services = center.weekendServices else {
            return nil
        }
        guard let departmentId else { return "On weekends \(center.name) serves only some services: name the matter (matterCode)." }
        return services.contains(departmentId) ? nil : "On weekends \(center.name) does not serve this department's matters; book a working day."
    }

    /// Why `day` cannot be booked at `now` (milliseconds since 1970), or `nil` when it is within the booking window.
    public static func bookingWindowProblem(_ day: String, now: Int64) -> String? {
        guard let number = WorkingCalendar.dayNumber(day) else { return "day: '\(day)' is not a YYYY-MM-DD date" }
        let today = WorkingCalendar.dayNumber(WorkingCalendar.day(fromMillis: now))!
        if number < today { return "day: \(day) is in the past" }
        if number > today + Int64(bookingWindowDays) { return "day: bookings open at most \(bookingWindowDays) days ahead" }
        return nil
    }

    /// Minutes after midnight of `HH:MM` (00:00–23:59), or `nil`.
    public static func minutes(_ time: String) -> Int? {
        let bytes = Array(time.utf8)
        guard bytes.count == 5, bytes[2] == UInt8(ascii: ":"),
            bytes.indices.allSatisfy({ $0 == 2 || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[$0]) })
        else { return nil }
        let digit = { (i: Int) in Int(bytes[i] - UInt8(ascii: "0")) }
        let (hour, minute) = (digit(0) * 10 + digit(1), digit(3) * 10 + digit(4))
        guard hour < 24, minute < 60 else { return nil }
        return hour * 60 + minute
    }

    /// `HH:MM` of minutes after midnight (a closing time of 24:00 stays `24:00`).
    static func clock(_ minutes: Int) -> String {
        let (hour, minute) = (minutes / 60, minutes % 60)
        return (hour < 10 ? "0" : "") + "\(hour):" + (minute < 10 ? "0" : "") + "\(minute)"
    }

    /// 0 = Monday … 6 = Sunday, or `nil` for a malformed day.
    static func weekday(of day: String) -> Int? {
        // 1970-01-01 was a Thursday (3 with Monday = 0).
        guard let number = WorkingCalendar.dayNumber(day) else { return nil }
        let remainder = Int((number + 3) % 7)
        return remainder < 0 ? remainder + 7 : remainder
    }

    private static let dayNames = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

    /// Whether an opening-hours day set (`daily`, `mon-fri`, `sat`, `sat-sun`, comma lists of these) includes `weekday`.
    static func opens(_ days: String, on weekday: Int) -> Bool {
        days.lowercased().split(separator: ",").contains { part in
            let item = part.trimmingCharacters(in: .whitespaces)
            if item == "daily" { return true }
            let ends = item.split(separator: "-").map { dayNames.firstIndex(of: String($0)) }
            switch ends.count {
            case 1: return ends[0] == weekday
            case 2:
                guard let from = ends[0], let to = ends[1] else { return false }
                return from <= to ? (from...to).contains(weekday) : weekday >= from || weekday <= to
            default: return false
            }
        }
    }
}

/// Appointment slots, queue counters and queue tickets.
enum AppointmentTables {
    static let appointments = Migration(version: 8, name: "appointments and queue tickets") { _ in
        [
            // Server-side state, never in the change log: generated per centre and day from its opening hours the
            // first time the day is asked for. `bookings` is the JSON list of holders; `booked` is its length.
            """
            CREATE TABLE appointment_slots (
                id TEXT PRIMARY KEY, center_id TEXT NOT NULL, day TEXT NOT NULL, start_time TEXT NOT NULL, end_time TEXT NOT NULL,
                capacity BIGINT NOT NULL, booked BIGINT NOT NULL, bookings TEXT NOT NULL)
            """,
            "CREATE INDEX appointment_slots_day ON appointment_slots (center_id, day, start_time)",
            // One row per centre and day: bumping it numbers the day's tickets and serialises their issue.
            "CREATE TABLE queue_counters (center_id TEXT NOT NULL, day TEXT NOT NULL, last_number BIGINT NOT NULL, PRIMARY KEY (center_id, day))",
            """
            CREATE TABLE queue_tickets (
                id TEXT PRIMARY KEY, account_id TEXT NOT NULL, center_id TEXT NOT NULL, day TEXT NOT NULL, seq BIGINT NOT NULL,
                number TEXT NOT NULL, matter_code TEXT, status TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
            """,
            "CREATE UNIQUE INDEX queue_tickets_queue ON queue_tickets (center_id, day, seq)",
            "CREATE INDEX queue_tickets_account ON queue_tickets (account_id, center_id, day)",
        ]
    }
}

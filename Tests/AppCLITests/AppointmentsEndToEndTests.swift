import Foundation
import SyncCore
import Testing

/// Appointments and queue tickets through the real binaries.
@Suite struct AppointmentsEndToEndTests {
    @Test func bookTwiceIsRefusedAndAnOfflineCancelSyncs() async throws {
        try await withServer { server in
            let terminal = try Terminal(server: server)
            try await terminal.ok(["login", "--id-number", "330106198503124811", "--password", "Citizen2026wjg"])
            // A working day ahead (the suite runs on any day, holidays and weekends included).
            let calendar = try WorkingCalendar(seedJSON: Array(Data(contentsOf: repositoryRoot.appendingPathComponent("seeds/holidays.json"))))
            let today = WorkingCalendar.day(fromMillis: Int64(Date().timeIntervalSince1970 * 1000))
            let day = try #require((1...12).compactMap { calendar.addingWorkingDays($0, to: today) }.first)
            let slots = try await terminal.ok(["--json", "appointments", "slots", "sc-city", "--day", day])
            let slot = try #require(slots.array.first { ($0["available"] as? Int ?? 0) > 0 }?["id"] as? String)

            let booked = try await terminal.ok(["--json", "appointments", "book", slot, "--matter", "330100-PSN-0006"])
            let id = try #require(booked.object["id"] as? String)
            #expect(booked.object["status"] as? String == "booked")
            let after = try await terminal.ok(["--json", "appointments", "slots", "sc-city", "--day", String(slot.split(separator: "|")[1])])
            #expect(after.array.first { $0["id"] as? String == slot }?["booked"] as? Int == 1)

            let twice = try await terminal.run(["appointments", "book", slot])
            #expect(twice.status == 1)
            #expect(twice.stderr.contains("[already_booked]"))

            try await terminal.ok(["offline", "on"])
            try await terminal.ok(["appointments", "cancel", id])
            #expect(try await terminal.ok(["--json", "appointments"]).array.isEmpty)
            try await terminal.ok(["offline", "off"])
            let all = try await terminal.ok(["--json", "appointments", "--all"])
            #expect(all.array.first?["status"] as? String == "cancelled")

            // Queue tickets are a live queue: online only, first in line gets A001.
            let ticket = try await terminal.run(["--json", "ticket", "take", "sc-city"])
            if ticket.status == 0 {
                #expect(ticket.object["number"] as? String == "A001")
                #expect(ticket.object["position"] as? Int == 1)
            } else {
                // The centre may be closed today (the suite can run on any day); then the server says so.
                #expect(ticket.error["code"] as? String == "centre_closed", "\(ticket.stderr)")
            }
            try await terminal.ok(["offline", "on"])
            #expect(try await terminal.run(["ticket", "take", "sc-city"]).status == 2)
        }
    }
}

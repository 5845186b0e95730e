import Foundation
import Testing

@testable import appcli

/// Applying, going offline, two devices of one citizen, and a clerk at the window — through the real binaries.
@Suite(.serialized) struct CasesEndToEndTests {
    /// 户籍证明开具: ID card only, handled by the public security bureau (demo clerk `clerk.police`).
    static let matter = "330100-PSN-0006"

    @Test func offlineApplyIsQueuedAndSyncsLater() async throws {
        try await withServer { server in
            let terminal = try Terminal(server: server)
            try await terminal.ok(["login", "--id-number", "330102199207085263", "--password", "Citizen2026lxy"])
            try await terminal.ok(["offline", "on"])

            let applied = try await terminal.ok(["--json", "apply", Self.matter, "--field", "用途=出国留学"])
            let id = try #require(applied.array.first?["id"] as? String)
            #expect(applied.array.first?["state"] as? String == "submitted")

            let outbox = try await terminal.ok(["--json", "outbox"])
            #expect(outbox.array.map { $0["name"] as? String } == ["case.saveDraft", "case.submit"])
            #expect(outbox.array.allSatisfy { $0["status"] as? String == "pending" && $0["acknowledged"] as? Bool == false })

            // Offline, the server is not asked, and files cannot be uploaded.
            #expect(try await terminal.run(["cases", "--remote"]).status == 2)
            let file = try await terminal.run(["apply", "330100-RE-0004", "--material", "不动产权证书=/etc/hostname"])
            #expect(file.status == 2)
            #expect(file.stderr.contains("offline"))

            let online = try await terminal.ok(["--json", "offline", "off"])
            #expect((online.object["sync"] as? [String: Any])?["applied"] as? Int == 2)
            #expect(try await terminal.ok(["--json", "outbox"]).array.isEmpty)

            let remote = try await terminal.ok(["--json", "cases", "--remote"])
            let onServer = try #require(remote.array.first { $0["id"] as? String == id })
            #expect(onServer["state"] as? String == "submitted")
            #expect((onServer["form"] as? [String: String])?["用途"] == "出国留学")
        }
    }

    @Test func twoDevicesOfOneCitizenConvergeOnTheLaterEdit() async throws {
        try await withServer { server in
            let terminal = try Terminal(server: server)
            for device in ["phone", "tablet"] {
                try await terminal.ok(["--profile", device, "login", "--id-number", "330108199811230170", "--password", "Citizen2026ch"])
            }
            let draft = try await terminal.ok(["--profile", "phone", "--json", "apply", Self.matter, "--draft", "--field", "用途=购房"])
            let id = try #require(draft.array.first?["id"] as? String)
            try await terminal.ok(["--profile", "tablet", "sync"])

            for device in ["phone", "tablet"] { try await terminal.ok(["--profile", device, "offline", "on"]) }
            // Both edit the same field and the nickname offline; the tablet edits later.
            try await terminal.ok(["--profile", "phone", "edit", id, "--field", "用途=落户", "--field", "联系人=陈浩"])
            try await terminal.ok(["--profile", "phone", "profile", "set", "--nickname", "手机上改的"])
            try await Task.sleep(for: .milliseconds(50))
            try await terminal.ok(["--profile", "tablet", "edit", id, "--field", "用途=入学"])
            try await terminal.ok(["--profile", "tablet", "profile", "set", "--nickname", "平板上改的"])

            // The later edit reaches the server first; the earlier one arrives after it and must not win.
            try await terminal.ok(["--profile", "tablet", "offline", "off"])
            try await terminal.ok(["--profile", "phone", "offline", "off"])
            try await terminal.ok(["--profile", "tablet", "sync"])

            for device in ["phone", "tablet"] {
                let tracked = try await terminal.ok(["--profile", device, "--json", "track", id])
                let form = (tracked.object["case"] as? [String: Any])?["form"] as? [String: String]
                #expect(form == ["用途": "入学", "联系人": "陈浩"], "\(device): \(String(describing: form))")
                let profile = try await terminal.ok(["--profile", device, "--json", "profile"])
                #expect(profile.object["nickname"] as? String == "平板上改的", "\(device)")
            }
            let remote = try await terminal.ok(["--profile", "phone", "--json", "cases", "--remote"])
            #expect((remote.array.first { $0["id"] as? String == id }?["form"] as? [String: String])?["用途"] == "入学")
        }
    }

    @Test func aClerkAcceptsAtTheWorkbenchAndThePhoneTracksIt() async throws {
        try await withServer { server in
            let terminal = try Terminal(server: server)
            try await terminal.ok(["--profile", "citizen", "login", "--id-number", "330110200102142482", "--password", "Citizen2026zyt"])
            try await terminal.ok(["--profile", "clerk", "login", "--username", "clerk.police", "--password", "Clerk2026police", "--no-sync"])

            let applied = try await terminal.ok(["--profile", "citizen", "--json", "apply", Self.matter, "--field", "用途=办理签证"])
            let id = try #require(applied.array.first?["id"] as? String)

            // The citizen watches for pokes while the clerk works.
            let watch = Task { try await terminal.run(["--profile", "citizen", "--json", "sync", "--watch", "--for", "8"]) }
            try await Task.sleep(for: .seconds(2))

            let queue = try await terminal.ok(["--profile", "clerk", "--json", "workbench", "list", "--state", "submitted"])
            let item = try #require(queue.array.first { ($0["case"] as? [String: Any])?["id"] as? String == id })
            #expect((item["allowedActions"] as? [String])?.contains("accept") == true)
            let accepted = try await terminal.ok(["--profile", "clerk", "--json", "workbench", "act", id, "accept"])
            #expect(accepted.object["state"] as? String == "accepted")

            // Accepting twice is refused with the server's problem: 409 → exit 1.
            let again = try await terminal.run(["--profile", "clerk", "workbench", "act", id, "accept"])
            #expect(again.status == 1)
            #expect(again.stderr.contains("[invalid_transition]"))

            // A citizen cannot use the workbench.
            let forbidden = try await terminal.run(["--profile", "citizen", "workbench", "list"])
            #expect(forbidden.status == 1)
            #expect(forbidden.stderr.contains("[forbidden]"))

            let watched = try await watch.value
            #expect(watched.status == 0, "\(watched.stderr)")
            let lines = watched.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            #expect(lines.contains { ($0["reason"] as? String ?? "").hasPrefix("poke") && ($0["pulled"] as? Int ?? 0) > 0 }, "\(watched.stdout)")

            let tracked = try await terminal.ok(["--profile", "citizen", "--json", "track", id])
            #expect((tracked.object["case"] as? [String: Any])?["state"] as? String == "accepted")
            let timeline = (tracked.object["case"] as? [String: Any])?["timeline"] as? [[String: Any]]
            #expect(timeline?.map { $0["action"] as? String } == ["create", "submit", "accept"])
            let text = try await terminal.ok(["--profile", "citizen", "track", id])
            #expect(text.stdout.contains("已受理"))
            #expect(text.stdout.contains("承诺办结"))
        }
    }

    @Test func aWithdrawalThatLostTheRaceIsShownInTheOutbox() async throws {
        try await withServer { server in
            let terminal = try Terminal(server: server)
            try await terminal.ok(["--profile", "citizen", "login", "--id-number", "330105196605203179", "--password", "Citizen2026zzm"])
            try await terminal.ok(["--profile", "clerk", "login", "--username", "clerk.police", "--password", "Clerk2026police", "--no-sync"])
            let applied = try await terminal.ok(["--profile", "citizen", "--json", "apply", Self.matter])
            let id = try #require(applied.array.first?["id"] as? String)

            // Offline, the citizen withdraws; meanwhile the clerk decides the case.
            try await terminal.ok(["--profile", "citizen", "offline", "on"])
            let withdrawn = try await terminal.ok(["--profile", "citizen", "--json", "withdraw", id, "--reason", "不办了"])
            #expect(withdrawn.array.first?["state"] as? String == "withdrawn")
            for action in ["accept", "startReview", "approve"] {
                try await terminal.ok(["--profile", "clerk", "workbench", "act", id, action])
            }

            // Back online, the server refuses the withdrawal: sync exits 1, the outbox says why, the case is approved.
            try await terminal.ok(["--profile", "citizen", "offline", "off", "--no-sync"])
            let sync = try await terminal.run(["--profile", "citizen", "sync"])
            #expect(sync.status == 1)
            #expect(sync.stdout.contains("invalid_transition"))
            let outbox = try await terminal.ok(["--profile", "citizen", "--json", "outbox"])
            #expect(outbox.array.first?["status"] as? String == "rejected")
            #expect(outbox.array.first?["code"] as? String == "invalid_transition")
            let tracked = try await terminal.ok(["--profile", "citizen", "--json", "track", id])
            #expect((tracked.object["case"] as? [String: Any])?["state"] as? String == "approved")
        }
    }

    @Test func aSmallSwarmConverges() async throws {
        try await withServer { server in
            let terminal = try Terminal(server: server)
            let swarm = try await terminal.run(
                ["swarm", "--json", "--phones", "6", "--duration", "4s", "--two-device-share", "0.5", "--think", "200ms", "--clerks", "4"],
                timeout: .seconds(180))
            #expect(swarm.status == 0, "\(swarm.stderr)")
            let report = swarm.object
            #expect(report["devicesChecked"] as? Int == 6)
            #expect(report["devicesConverged"] as? Int == 6)
            #expect((report["operations"] as? Int ?? 0) > 0)
            #expect(
                (report["lines"] as? [[String: Any]])?.contains {
                    $0["name"] as? String == "apply" || $0["name"] as? String == "apply (offline, local)"
                } == true)
        }
    }
}

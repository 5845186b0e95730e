import Foundation
import Testing

@testable import appcli

/// A user at a terminal against a real server: accounts, sessions, the catalog offline, and how failures look.
@Suite(.serialized) struct IdentityAndCatalogTests {
    @Test func registerLoginWhoamiAndDevices() async throws {
        try await withServer { server in
            let terminal = try Terminal(server: server)
            let idNumber = SyntheticIdentity.residentID()

            // Not logged in yet: exit 3 and a hint.
            let anonymous = try await terminal.run(["whoami"])
            #expect(anonymous.status == 3)
            #expect(anonymous.stderr.contains("login"))

            let registered = try await terminal.ok([
                "--profile", "phone", "--json", "register", "--id-number", idNumber, "--name", "测试用户", "--phone", "13812345678", "--password",
                "Cli2026test",
            ])
            let account = registered.object["account"] as? [String: Any]
            #expect(account?["name"] as? String == "测试用户")
            #expect(registered.object["verified"] as? Bool == true)

            let whoami = try await terminal.ok(["whoami", "--profile", "phone", "--json"])
            #expect((whoami.object["account"] as? [String: Any])?["kind"] as? String == "citizen")
            #expect((whoami.object["deviceKeyThumbprint"] as? String)?.count == 43)

            // A second device of the same citizen: the password comes from stdin, the key is its own.
            let tablet = try await terminal.run(["--profile", "tablet", "login", "--id-number", idNumber], stdin: "Cli2026test\n")
            #expect(tablet.status == 0, "\(tablet.stderr)")
            let devices = try await terminal.ok(["--profile", "tablet", "--json", "devices"])
            #expect(devices.array.count == 2)
            #expect(devices.array.filter { $0["current"] as? Bool == true }.count == 1)
            #expect(devices.array.allSatisfy { ($0["publicKey"] as? [String: Any])?["crv"] as? String == "P-256" })

            // Files are private; the key is never printed.
            let key = terminal.home.appendingPathComponent("phone/device-key.pem").path
            let mode = try FileManager.default.attributesOfItem(atPath: key)[.posixPermissions] as? Int
            #expect(mode == 0o600)
            #expect(!registered.stdout.contains("PRIVATE KEY"))

            try await terminal.ok(["--profile", "tablet", "logout"])
            #expect(try await terminal.run(["--profile", "tablet", "whoami"]).status == 3)
        }
    }

    @Test func tokensRefreshThemselvesAndAReusedRefreshTokenEndsTheSession() async throws {
        try await withServer { server in
            let terminal = try Terminal(server: server)
            try await terminal.ok(["login", "--id-number", "330108199811230170", "--password", "Citizen2026ch", "--no-sync"])
            let file = terminal.home.appendingPathComponent("default/profile.json")
            func profile() throws -> [String: Any] { try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any] ?? [:] }
            func write(_ object: [String: Any]) throws { try JSONSerialization.data(withJSONObject: object).write(to: file) }
            let original = try profile()

            // About to expire: refreshed before the call.
            var soon = original
            soon["accessTokenExpiresAt"] = Date().timeIntervalSince1970 + 30
            try write(soon)
            try await terminal.ok(["whoami"])
            let refreshed = try profile()
            #expect(refreshed["refreshToken"] as? String != original["refreshToken"] as? String)
            #expect((refreshed["accessTokenExpiresAt"] as? Double ?? 0) > Date().timeIntervalSince1970 + 600)

            // Rejected by the server (401 invalid_token): refreshed once and the call retried.
            var broken = refreshed
            broken["accessToken"] = "not.a.token"
            try write(broken)
            try await terminal.ok(["whoami"])
            #expect(try profile()["refreshToken"] as? String != refreshed["refreshToken"] as? String)

            // A refresh token that was already used (a copied profile) revokes the device: log in again, exit 3.
            var stale = original
            stale["accessToken"] = "not.a.token"
            try write(stale)
            let reused = try await terminal.run(["whoami"])
            #expect(reused.status == 3)
            #expect(reused.stderr.contains("refresh_token_reused"))
            #expect(try profile()["refreshToken"] == nil)
            #expect(try await terminal.run(["whoami"]).status == 3)
        }
    }

    @Test func catalogAnswersFromTheReplicaWithoutTheServer() async throws {
        let server = try await TestServer.start()
        let terminal = try Terminal(server: server)
        do {
            // Before a sync there is nothing to search: a clear instruction, exit 2.
            let empty = try await terminal.run(["catalog", "search", "营业执照"])
            #expect(empty.status == 2)
            #expect(empty.stderr.contains("appcli sync"))

            try await terminal.ok(["login", "--id-number", "330106198503124811", "--password", "Citizen2026wjg"])
            await server.stop()

            // The server is gone: the catalog still answers from the replica …
            let found = try await terminal.ok(["--json", "catalog", "search", "营业执照"])
            #expect(!found.array.isEmpty)
            #expect(
                found.array.allSatisfy {
                    ($0["name"] as? String ?? "").contains("营业执照") || ($0["keywords"] as? [String] ?? []).contains { $0.contains("营业执照") }
                })
            let idCardOnly = try await terminal.ok(["--json", "catalog", "search", "--id-card-only", "--limit", "100"])
            #expect(idCardOnly.array.count == 36)
            let shown = try await terminal.ok(["catalog", "show", "330100-RE-0004"])
            #expect(shown.stdout.contains("二手房"))
            let bundles = try await terminal.ok(["--json", "bundles"])
            #expect(bundles.array.count == 7)

            // … and what needs the server says it cannot reach it: exit 4.
            let sync = try await terminal.run(["sync"])
            #expect(sync.status == 4)
            #expect(sync.stderr.contains("cannot reach the server"))
        } catch {
            await server.stop()
            throw error
        }
    }

    @Test func failuresAreProblemDetailsWithStableExitCodes() async throws {
        try await withServer { server in
            let terminal = try Terminal(server: server)

            // The server's problem: title, detail and code; 401 exits 3.
            let wrong = try await terminal.run(["login", "--id-number", "330106198503124811", "--password", "not-the-password1"])
            #expect(wrong.status == 3)
            #expect(wrong.stderr.contains("[invalid_credentials]"))
            #expect(!wrong.stderr.contains("Fatal error") && !wrong.stderr.contains("Stack"))

            // A refused request: 4xx exits 1, and --json puts the problem on stderr for scripts.
            let invalid = try await terminal.run([
                "--json", "register", "--id-number", "330106198503124812", "--name", "某某", "--phone", "13812345678", "--password", "Cli2026test",
            ])
            #expect(invalid.status == 1)
            #expect(invalid.error["code"] as? String == "invalid_id_number")
            #expect(invalid.error["status"] as? Int == 422)
            #expect((invalid.error["errors"] as? [[String: Any]])?.first?["pointer"] as? String == "/idNumber")

            // Usage errors exit 2.
            #expect(try await terminal.run(["login", "--id-number", "1", "--username", "x"]).status == 2)
            #expect(try await terminal.run(["catalog", "search", "--domain", "nowhere"]).status == 2)

            // No server at all: exit 4.
            let unreachable = try await terminal.run(["--server", "http://127.0.0.1:9", "login", "--username", "clerk.police", "--password", "x"])
            #expect(unreachable.status == 4)
            #expect(unreachable.stderr.contains("cannot reach the server"))
        }
    }
}

@Suite struct GlobalOptionTests {
    @Test func optionsBeforeTheSubcommandMoveBehindIt() {
        #expect(
            AppCLI.hoistingGlobalOptions(["--profile", "a", "--json", "catalog", "search", "x"]) == [
                "catalog", "search", "x", "--profile", "a", "--json",
            ])
        #expect(AppCLI.hoistingGlobalOptions(["--server=http://h", "cases"]) == ["cases", "--server=http://h"])
        #expect(AppCLI.hoistingGlobalOptions(["cases", "--json"]) == ["cases", "--json"])
        #expect(AppCLI.hoistingGlobalOptions(["--json", "edit", "c", "--", "-x"]) == ["edit", "c", "--json", "--", "-x"])
    }

    @Test func durationsReadLikeHumansWriteThem() throws {
        #expect(try parseDuration("60s") == .seconds(60))
        #expect(try parseDuration("2m") == .seconds(120))
        #expect(try parseDuration("500ms") == .milliseconds(500))
        #expect(try parseDuration("1.5") == .milliseconds(1500))
        #expect(throws: (any Error).self) { try parseDuration("soon") }
    }

    @Test func exitCodesFollowTheStatus() {
        #expect(CLIError.exitCode(forStatus: 401) == 3)
        #expect(CLIError.exitCode(forStatus: 409) == 1)
        #expect(CLIError.exitCode(forStatus: 503) == 4)
        #expect(CLIError.unreachable("x").exitCode == 4)
        #expect(CLIError.usage("x").exitCode == 2)
    }
}

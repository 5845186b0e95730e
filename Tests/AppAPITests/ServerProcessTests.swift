import Foundation
import TestSupport
import Testing

@testable import AppAPI

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The server as an operator runs it: a real process, a real socket, signals and restarts.
@Suite(.serialized) struct ServerProcessTests {
    @Test func servesTheSeededCatalogStopsOnSIGTERMAndKeepsDataAcrossRestarts() async throws {
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("onetrip-proc-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dataDir) }
        var firstCount = 0
        for round in 0..<2 {
            let server = try await ServerProcess.start(arguments: ["--data-dir", dataDir.path])
            let (status, body) = try await server.get("/v1/matters?q=%E4%B8%8D%E5%8A%A8%E4%BA%A7&limit=100")
            #expect(status == 200)
            let page = try JSONDecoder().decode(MatterPage.self, from: body)
            #expect(!page.items.isEmpty)
            if round == 0 { firstCount = page.items.count } else { #expect(page.items.count == firstCount, "a restart must not duplicate seeds") }
            #expect(server.log.contains(round == 0 ? "loaded(matters:" : "unchanged"))
            let exit = try await server.stop(signal: round == 0 ? SIGTERM : SIGINT)
            #expect(exit == 0, "graceful shutdown should exit cleanly:\n\(server.log)")
        }
        #expect(FileManager.default.fileExists(atPath: dataDir.appendingPathComponent("onetrip.sqlite").path))
    }

    @Test func refusesABadConfigurationWithAClearMessage() async throws {
        let (status, output) = try await ServerProcess.command(["serve", "--database-url", "mysql://root:hunter2@db/x"])
        #expect(status != 0)
        #expect(output.contains("unsupported database URL"))
        #expect(!output.contains("hunter2"), "secrets never appear in output")
    }
}

/// The sandbox payment channels of a dev server notify it over its own socket, as the real channels do.
@Suite(.serialized) struct SandboxOverHTTPTests {
    @Test func aConfirmedTradeIsNotifiedOverHTTPAndPaysTheOrder() async throws {
        try await ServerProcess.with { server, _ in
            let token = try await server.login(Demo.citizen.idNumber, Demo.citizen.password)
            let created = try await server.call(
                "POST", "/v1/payment-orders", token: token, json: ["feeItemCode": "FEE-PASSPORT"], headers: ["Idempotency-Key": UUID().uuidString])
            #expect(created.status == 201, "\(String(decoding: created.body, as: UTF8.self))")
            let order = try #require(try JSONSerialization.jsonObject(with: created.body) as? [String: Any])
            let id = try #require(order["id"] as? String)
            let paying = try await server.call("POST", "/v1/payment-orders/\(id)/pay", token: token, json: ["channel": "alipay"])
            let trade = try #require((try JSONSerialization.jsonObject(with: paying.body) as? [String: Any])?["tradeNo"] as? String)
            #expect(
                try await server.call("POST", "/sandbox/alipay/trades/\(trade)/confirm", token: token, json: [:] as [String: String]).status == 200)
            var state = ""
            for _ in 0..<100 where state != "paid" {
                let answer = try await server.call("GET", "/v1/payment-orders/\(id)", token: token)
                state = (try JSONSerialization.jsonObject(with: answer.body) as? [String: Any])?["state"] as? String ?? ""
                if state != "paid" { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(state == "paid")
            // The notification came in through the route, as a request from the channel.
            let metrics = String(decoding: try await server.get("/metrics").body, as: UTF8.self)
            #expect(metrics.contains("/v1/payments/notify"), "no request reached the notify route")
        }
    }
}

/// An open server-sent event stream must not hold up a graceful shutdown.
@Suite(.serialized) struct EventStreamShutdownTests {
    @Test func sigtermEndsOpenEventStreamsPromptly() async throws {
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("onetrip-sse-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dataDir) }
        let server = try await ServerProcess.start(arguments: ["--data-dir", dataDir.path, "--dev"], environment: ["APPAPI_BCRYPT_COST": "4"])
        let token = try await server.login(Demo.citizen.idNumber, Demo.citizen.password)
        // A client holding the event stream open.
        let curl = ChildProcess(
            "/usr/bin/env", ["curl", "-sN", "-H", "Authorization: Bearer \(token)", server.baseURL.absoluteString + "/v1/sync/events"])
        defer { curl.signal(SIGKILL) }
        try await Task.sleep(for: .milliseconds(500))
        let clock = ContinuousClock()
        let started = clock.now
        let exit = try await server.stop(signal: SIGTERM, timeout: .seconds(10))
        #expect(exit == 0)
        #expect(clock.now - started < .seconds(5), "shutdown waited for the event stream")
    }
}

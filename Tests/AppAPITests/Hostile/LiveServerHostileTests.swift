import Foundation
import SyncCore
import TestSupport
import Testing

@testable import AppAPI

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Findings that need a real process and sockets: event streams (S17, S39) and a second process on the SQLite file (S21).
@Suite(.serialized) struct LiveServerHostileTests {
    @Test("S17: an event stream ends after its device logs out, and streams per account are capped")
    func streamsEndWithTheirSessionAndAreCapped() async throws {
        try await withLiveServer { server in
            let token = try await server.login(Demo.citizen.idNumber, Demo.citizen.password)
            let stream = try EventStream(server, token: token)
            defer { stream.stop() }
            try await Task.sleep(for: .milliseconds(400))
            #expect(stream.isRunning)
            #expect(try await server.call("POST", "/v1/auth/logout", token: token).status == 204)
            let clock = ContinuousClock()
            let started = clock.now
            while stream.isRunning && clock.now - started < .seconds(12) { try await Task.sleep(for: .milliseconds(100)) }
            #expect(!stream.isRunning, "the stream outlived the session")

            let other = try await server.login(Demo.citizen2.idNumber, Demo.citizen2.password)
            let open = try (0..<ChangeNotifier.maxStreamsPerAccount).map { _ in try EventStream(server, token: other) }
            defer { for stream in open { stream.stop() } }
            try await Task.sleep(for: .milliseconds(500))
            let refused = try await server.call("GET", "/v1/sync/events", token: other)
            #expect(refused.status == 429)
        }
    }

    @Test("S39: a commit racing the opening of an event stream is in its first heads or in a later poke")
    func noCommitFallsBetweenHeadsAndPokes() async throws {
        try await withLiveServer { server in
            let token = try await server.login(Demo.citizen.idNumber, Demo.citizen.password)
            let me = try await server.call("GET", "/v1/me", token: token)
            let accountID = try #require((try JSONSerialization.jsonObject(with: me.body) as? [String: Any])?["id"] as? String)
            for round in 1...5 {
                let stream = try EventStream(server, token: token, scopes: "user:\(accountID)")
                defer { stream.stop() }
                let body: [String: Any] = [
                    "clientId": "race-client-01",
                    "mutations": [
                        [
                            "id": round, "name": "profile.update", "args": ["changes": ["nickname": "n\(round)"]],
                            "hlc": HLC(physical: Int64(Date().timeIntervalSince1970 * 1000), node: "x").description,
                        ]
                    ],
                ]
                #expect(try await server.call("POST", "/v1/sync/push", token: token, json: body).status == 200)
                let pulled = try await server.call("POST", "/v1/sync/pull", token: token, json: ["clientId": "race-client-01"])
                let head = try #require(
                    ((try JSONSerialization.jsonObject(with: pulled.body) as? [String: Any])?["cursors"] as? [String: Int])?["user:\(accountID)"])
                let clock = ContinuousClock()
                let started = clock.now
                while stream.highestSeq < head && clock.now - started < .seconds(3) { try await Task.sleep(for: .milliseconds(50)) }
                #expect(stream.highestSeq == head, "round \(round): the stream never learned seq \(head)")
            }
        }
    }

    @Test("S21: a maintenance command refuses to write the SQLite file a server is running on")
    func maintenanceRefusesARunningServersFile() async throws {
        try await withLiveServer { server in
            let (status, output) = try await ServerProcess.command(["seed", "--data-dir", server.dataDirectory, "--synthetic-matters", "5"])
            #expect(status != 0)
            #expect(output.contains("server is running"), "\(output)")
            #expect(try await server.process.get("/v1/matters?q=SYN&limit=5").status == 200, "the running server still answers")
        }
    }
}

/// A live dev server on a fresh data directory, for `body`.
func withLiveServer(_ body: (LiveServer) async throws -> Void) async throws {
    try await ServerProcess.with { process, dataDirectory in try await body(LiveServer(process: process, dataDirectory: dataDirectory)) }
}

/// Requests against a live server.
struct LiveServer: Sendable {
    let process: ServerProcess
    let dataDirectory: String

    func call(_ method: String, _ path: String, token: String? = nil, json: Any? = nil) async throws -> (status: Int, body: Data) {
        try await process.call(method, path, token: token, json: json)
    }

    func login(_ idNumber: String, _ password: String) async throws -> String {
        try await process.login(idNumber, password)
    }
}

/// A `curl -N` holding an event stream open, recording the pokes it reads.
final class EventStream: Sendable {
    private let curl: ChildProcess

    init(_ server: LiveServer, token: String, scopes: String? = nil) throws {
        let query = scopes.map { "?scopes=" + $0 } ?? ""
        curl = ChildProcess(
            "/usr/bin/env",
            ["curl", "-sN", "-H", "Authorization: Bearer \(token)", server.process.baseURL.absoluteString + "/v1/sync/events" + query])
    }

    var isRunning: Bool { curl.isRunning }

    /// The highest `seq` among the `data:` lines read so far.
    var highestSeq: Int {
        curl.stdout.split(separator: "\n").filter { $0.hasPrefix("data: ") }.compactMap { line in
            line.range(of: #""seq":([0-9]+)"#, options: .regularExpression).flatMap { Int(line[$0].dropFirst(6)) }
        }.max() ?? 0
    }

    func stop() { curl.signal(SIGKILL) }
}

import Foundation
import Testing

@testable import AppAPI

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The HTTP edge and the files on disk of a real `appapi` process: slow and silent clients, file modes, the first admin.
@Suite(.serialized) struct EdgeProcessTests {
    static let fastTimeouts = ["APPAPI_BCRYPT_COST": "4", "APPAPI_IDLE_TIMEOUT": "2", "APPAPI_BODY_TIMEOUT": "2"]

    @Test("S16: an unauthenticated 10 MiB upload is answered 401 before its body is sent, and the connection closes")
    func anonymousUploadsAreRefusedUpFront() async throws {
        try await withServer(dev: false) { server in
            let socket = try RawSocket(port: server.baseURL.port!)
            socket.send("POST /v1/blobs HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: \(BlobStore.maxBytes)\r\n\r\n")
            let started = ContinuousClock.now
            let (text, closed) = socket.receive(for: .seconds(5))
            #expect(text.hasPrefix("HTTP/1.1 401"), "\(text)")
            #expect(text.contains("\"code\":\"unauthenticated\""))
            #expect(closed, "the server should close instead of reading the 10 MiB")
            #expect(ContinuousClock.now - started < .seconds(4))
        }
    }

    @Test("S16: a body that trickles in is dropped with 400 request_timeout")
    func tricklingBodiesAreDropped() async throws {
        try await withServer(dev: true) { server in
            let token = try await server.login(Demo.citizen.idNumber, Demo.citizen.password)
            let socket = try RawSocket(port: server.baseURL.port!)
            socket.send(
                "POST /v1/sync/pull HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
            )
            let started = ContinuousClock.now
            // One byte a second keeps the connection from being idle, but the body never completes in time.
            var answer = ""
            var closed = false
            while ContinuousClock.now - started < .seconds(10) && !closed && answer.isEmpty {
                socket.send(" ")
                (answer, closed) = socket.receive(for: .seconds(1))
            }
            let answered = ContinuousClock.now - started
            if !closed {
                let rest = socket.receive(for: .seconds(3))
                answer += rest.text
                closed = rest.closed
            }
            #expect(answer.hasPrefix("HTTP/1.1 400"), "\(answer)")
            #expect(answer.contains("\"code\":\"request_timeout\""), "\(answer)")
            #expect(answered < .seconds(8))
            #expect(closed, "the connection should close")
        }
    }

    @Test("S16: a connection that stays silent is closed")
    func idleConnectionsAreClosed() async throws {
        try await withServer(dev: false) { server in
            let socket = try RawSocket(port: server.baseURL.port!)
            let started = ContinuousClock.now
            let (_, closed) = socket.receive(for: .seconds(8))
            #expect(closed)
            #expect(ContinuousClock.now - started < .seconds(6))
            // Half a request line, then silence: closed as well.
            let half = try RawSocket(port: server.baseURL.port!)
            half.send("GET /v1/matters HTTP/1.1\r\nHost")
            #expect(half.receive(for: .seconds(8)).closed)
        }
    }

    @Test("S20: appapi serve keeps its data directory 0700 and the database, WAL, SHM and lock files 0600")
    func filesArePrivate() async throws {
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("onetrip-modes-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dataDir) }
        let server = try await ServerProcess.start(arguments: ["--data-dir", dataDir.path], environment: ["APPAPI_BCRYPT_COST": "4"])
        func mode(_ name: String) throws -> Int {
            try FileManager.default.attributesOfItem(atPath: dataDir.appendingPathComponent(name).path)[.posixPermissions] as? Int ?? -1
        }
        let directory = try mode("")
        #expect(directory & 0o077 == 0, "data directory is \(String(directory, radix: 8))")
        for file in ["onetrip.sqlite", "onetrip.sqlite-wal", "onetrip.sqlite-shm", "onetrip.sqlite.lock"] {
            let found = try mode(file)
            #expect(found == 0o600, "\(file) is \(String(found, radix: 8))")
        }
        _ = try await server.stop()
    }

    @Test("S20: seed --demo-accounts without --dev creates only an admin, with a generated password shown once")
    func productionSeedMakesOnlyAGeneratedAdmin() async throws {
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("onetrip-seed-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dataDir) }
        let first = try await Self.seed(dataDir.path)
        let line = try #require(first.split(separator: "\n").first { $0.hasPrefix("admin account created") }, "\(first)")
        let password = try #require(line.split(separator: " ").last.map(String.init))
        #expect(password.count == 20 && password != Demo.admin.password)
        let second = try await Self.seed(dataDir.path)
        #expect(second.contains("exists already") && !second.contains(password), "the password is shown once")

        let server = try await ServerProcess.start(arguments: ["--data-dir", dataDir.path], environment: ["APPAPI_BCRYPT_COST": "4"])
        #expect(try await server.loginStatus(["username": "admin", "password": password]) == 200)
        #expect(try await server.loginStatus(["username": "admin", "password": Demo.admin.password]) == 401)
        #expect(try await server.loginStatus(["idNumber": Demo.citizen.idNumber, "password": Demo.citizen.password]) == 401, "no demo citizen")
        _ = try await server.stop()
    }

    // MARK: Helpers

    private func withServer(dev: Bool, _ body: (ServerProcess) async throws -> Void) async throws {
        try await ServerProcess.with(arguments: dev ? ["--dev"] : [], environment: Self.fastTimeouts) { server, _ in try await body(server) }
    }

    /// `appapi seed --demo-accounts` on `dataDirectory`, which must succeed; returns what it printed.
    private static func seed(_ dataDirectory: String) async throws -> String {
        let (status, output) = try await ServerProcess.command(["seed", "--demo-accounts", "--data-dir", dataDirectory])
        #expect(status == 0, "\(output)")
        return output
    }

}

import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@testable import AppAPI

/// The HTTP edge of a real `appapi` process: bodies before authentication, slow and silent clients.
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
            let token = try await Self.login(server)
            let socket = try RawSocket(port: server.baseURL.port!)
            socket.send("POST /v1/sync/pull HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
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

    // MARK: Helpers

    private func withServer(dev: Bool, _ body: (ServerProcess) async throws -> Void) async throws {
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("onetrip-edge-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dataDir) }
        let server = try await ServerProcess.start(arguments: ["--data-dir", dataDir.path] + (dev ? ["--dev"] : []), environment: Self.fastTimeouts)
        do {
            try await body(server)
        } catch {
            _ = try? await server.stop()
            throw error
        }
        _ = try await server.stop()
    }

    static func login(_ server: ServerProcess) async throws -> String {
        var request = URLRequest(url: URL(string: server.baseURL.absoluteString + "/v1/auth/login")!)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONSerialization.data(withJSONObject: [
            "idNumber": Demo.citizen.idNumber, "password": Demo.citizen.password, "device": ["name": "edge", "platform": "cli"],
        ])
        let (data, _) = try await URLSession.shared.data(for: request)
        return try #require((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["accessToken"] as? String)
    }
}

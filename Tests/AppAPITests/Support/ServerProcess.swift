import Foundation
import Synchronization
import TestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A real `appapi` process on 127.0.0.1 with an OS-chosen port, for tests where sockets, signals and restarts matter.
final class ServerProcess: Sendable {
    let process: ChildProcess
    let baseURL: URL

    /// The built executable next to the test bundle.
    static var executable: URL {
        let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("appapi")
        if FileManager.default.isExecutableFile(atPath: besideTests.path) { return besideTests }
        return repositoryRoot.appendingPathComponent(".build/debug/appapi")
    }

    private init(process: ChildProcess, baseURL: URL) {
        self.process = process
        self.baseURL = baseURL
    }

    /// Everything the server logged so far.
    var log: String { process.output }

    static func start(arguments: [String], environment: [String: String] = [:], timeout: Duration = .seconds(60)) async throws -> ServerProcess {
        let process = ChildProcess(
            executable.path, ["serve", "--host", "127.0.0.1", "--port", "0"] + arguments, environment: environment,
            workingDirectory: repositoryRoot.path)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let text = process.output
            if let range = text.range(of: #"listening on (http://[0-9.]+:[0-9]+)"#, options: .regularExpression) {
                let url = String(text[range].dropFirst("listening on ".count))
                return ServerProcess(process: process, baseURL: URL(string: url)!)
            }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        await process.stop()
        throw ServerProcessError.didNotStart(process.output)
    }

    /// Starts a server on a fresh data directory, runs `body` and stops the server, also when `body` throws.
    static func with(
        arguments: [String] = ["--dev"], environment: [String: String] = ["APPAPI_BCRYPT_COST": "4"],
        _ body: (ServerProcess, _ dataDirectory: String) async throws -> Void
    ) async throws {
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("onetrip-process-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dataDir) }
        let server = try await start(arguments: ["--data-dir", dataDir.path] + arguments, environment: environment)
        do {
            try await body(server, dataDir.path)
        } catch {
            _ = try? await server.stop()
            throw error
        }
        _ = try await server.stop()
    }

    /// Runs another `appapi` command (`seed`, `admin`, …) to its end and returns its exit status and what it printed.
    static func command(_ arguments: [String], environment: [String: String] = ["APPAPI_BCRYPT_COST": "4"]) async throws -> (
        status: Int32, output: String
    ) {
        let child = ChildProcess(executable.path, arguments, environment: environment, workingDirectory: repositoryRoot.path)
        let status = try await child.wait()
        return (status, child.output)
    }

    /// GET `path` (percent-encoded as needed) and return status and body.
    func get(_ path: String) async throws -> (status: Int, body: Data) {
        try await call("GET", path)
    }

    /// Sends `method path` with an optional bearer token and JSON body; returns status and body.
    func call(_ method: String, _ path: String, token: String? = nil, json: Any? = nil, headers: [String: String] = [:]) async throws -> (
        status: Int, body: Data
    ) {
        var request = URLRequest(url: URL(string: baseURL.absoluteString + path)!)
        request.httpMethod = method
        request.timeoutInterval = 10
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let json {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = try JSONSerialization.data(withJSONObject: json)
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }

    /// `POST /v1/auth/login` with these identifier and password fields (`idNumber`, `username`, …); returns the status.
    func loginStatus(_ fields: [String: String]) async throws -> Int {
        var body: [String: Any] = ["device": ["name": "process", "platform": "cli"]]
        for (key, value) in fields { body[key] = value }
        return try await call("POST", "/v1/auth/login", json: body).status
    }

    /// Logs a citizen in and returns the access token.
    func login(_ idNumber: String, _ password: String) async throws -> String {
        let answer = try await call(
            "POST", "/v1/auth/login", json: ["idNumber": idNumber, "password": password, "device": ["name": "process", "platform": "cli"]])
        return try #require((try JSONSerialization.jsonObject(with: answer.body) as? [String: Any])?["accessToken"] as? String)
    }

    /// Sends `signal` and waits for the process to exit; returns its exit status.
    func stop(signal: Int32 = SIGTERM, timeout: Duration = .seconds(20)) async throws -> Int32 {
        process.signal(signal)
        do {
            return try await process.wait(timeout: timeout)
        } catch is ChildProcessError {
            throw ServerProcessError.didNotStop
        }
    }
}

enum ServerProcessError: Error {
    case didNotStart(String)
    case didNotStop
}

import Foundation
import TestSupport
import Testing

@testable import appcli

/// The checkout this test was built from (for `seeds/`).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// A built executable of this package: next to the test bundle (`swift build --build-tests` puts `appapi` and `appcli`
/// there), else in `.build/debug`.
func builtExecutable(_ name: String) -> URL {
    let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name)
    if FileManager.default.isExecutableFile(atPath: besideTests.path) { return besideTests }
    return repositoryRoot.appendingPathComponent(".build/debug/\(name)")
}

/// A fresh temporary directory.
func temporaryDirectory(_ label: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("appcli-\(label)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A real `appapi serve --dev` on a free port with its own data directory (bcrypt cost 4 so registrations are quick).
final class TestServer: Sendable {
    let process: ChildProcess
    let url: String
    let dataDirectory: URL

    private init(process: ChildProcess, url: String, dataDirectory: URL) {
        self.process = process
        self.url = url
        self.dataDirectory = dataDirectory
    }

    static func start() async throws -> TestServer {
        let data = try temporaryDirectory("server")
        let process = ChildProcess(
            builtExecutable("appapi").path,
            ["serve", "--host", "127.0.0.1", "--port", "0", "--dev", "--data-dir", data.path, "--log-level", "notice"],
            // The swarm test registers many citizens from 127.0.0.1, as a load test does; the limit itself is tested in
            // AppAPITests.
            environment: ["APPAPI_BCRYPT_COST": "4", "APPAPI_REGISTRATIONS_PER_HOUR": "0"], workingDirectory: repositoryRoot.path)
        let deadline = ContinuousClock.now + .seconds(90)
        while ContinuousClock.now < deadline {
            let log = process.output
            if let range = log.range(of: #"listening on http://[0-9.]+:[0-9]+"#, options: .regularExpression) {
                return TestServer(process: process, url: String(log[range].dropFirst("listening on ".count)), dataDirectory: data)
            }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        await process.stop()
        throw HarnessError.serverDidNotStart(process.output)
    }

    /// Stops the server (SIGTERM, then SIGKILL after 5 s: an event stream whose client has gone keeps a graceful
    /// shutdown waiting until the next heartbeat) and waits for it.
    func stop() async {
        await process.stop(grace: .seconds(5))
        try? FileManager.default.removeItem(at: dataDirectory)
    }
}

/// Runs `body` with a fresh server, stopping it afterwards whatever happens.
func withServer(_ body: (TestServer) async throws -> Void) async throws {
    let server = try await TestServer.start()
    do {
        try await body(server)
    } catch {
        await server.stop()
        throw error
    }
    await server.stop()
}

/// What one `appcli` run printed and how it exited.
struct CLIResult {
    var status: Int32
    var stdout: String
    var stderr: String

    /// stdout parsed as JSON.
    var json: Any { (try? JSONSerialization.jsonObject(with: Data(stdout.utf8))) ?? NSNull() }
    /// stdout as a JSON object (empty when it is not one).
    var object: [String: Any] { json as? [String: Any] ?? [:] }
    /// stdout as a JSON array of objects (empty when it is not one).
    var array: [[String: Any]] { json as? [[String: Any]] ?? [] }
    /// The `--json` error on stderr.
    var error: [String: Any] {
        let parsed = try? JSONSerialization.jsonObject(with: Data(stderr.utf8)) as? [String: Any]
        return parsed?["error"] as? [String: Any] ?? [:]
    }
}

/// A user at a terminal: runs the real `appcli` binary with its own `APPCLI_HOME`, against `server`.
struct Terminal {
    let home: URL
    let server: String

    init(server: TestServer) throws {
        home = try temporaryDirectory("home")
        self.server = server.url
    }

    /// Runs `appcli ARGUMENTS` and waits for it (at most `timeout`).
    @discardableResult
    func run(_ arguments: [String], stdin: String? = nil, timeout: Duration = .seconds(120)) async throws -> CLIResult {
        do {
            let result = try await ChildProcess.run(
                builtExecutable("appcli").path, arguments,
                environment: ["APPCLI_HOME": home.path, "APPCLI_SERVER": server, "APPCLI_PASSWORD": nil],
                workingDirectory: repositoryRoot.path, stdin: stdin, timeout: timeout)
            return CLIResult(status: result.status, stdout: result.stdout, stderr: result.stderr)
        } catch is ChildProcessError {
            throw HarnessError.timedOut(arguments)
        }
    }

    /// Runs `appcli` and expects exit 0; records the output when it is not.
    @discardableResult
    func ok(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) async throws -> CLIResult {
        let result = try await run(arguments)
        #expect(
            result.status == 0, "appcli \(arguments.joined(separator: " ")) → \(result.status)\n\(result.stdout)\n\(result.stderr)",
            sourceLocation: sourceLocation)
        return result
    }
}

enum HarnessError: Error {
    case serverDidNotStart(String)
    case timedOut([String])
}

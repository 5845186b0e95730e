import Foundation
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
    let process: Process
    let url: String
    let dataDirectory: URL

    private init(process: Process, url: String, dataDirectory: URL) {
        self.process = process
        self.url = url
        self.dataDirectory = dataDirectory
    }

    static func start() async throws -> TestServer {
        let data = try temporaryDirectory("server")
        let process = Process()
        process.executableURL = builtExecutable("appapi")
        process.arguments = ["serve", "--host", "127.0.0.1", "--port", "0", "--dev", "--data-dir", data.path, "--log-level", "notice"]
        process.currentDirectoryURL = repositoryRoot
        var environment = ProcessInfo.processInfo.environment
        environment["APPAPI_BCRYPT_COST"] = "4"
        // The swarm test registers many citizens from 127.0.0.1, as a load test does; the limit itself is tested in AppAPITests.
        environment["APPAPI_REGISTRATIONS_PER_HOUR"] = "0"
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let log = Locked("")
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let chunk = handle.availableData
            if !chunk.isEmpty { log.withLock { $0 += String(decoding: chunk, as: UTF8.self) } }
        }
        try process.run()
        let deadline = ContinuousClock.now + .seconds(90)
        while ContinuousClock.now < deadline {
            if let range = log.value.range(of: #"listening on http://[0-9.]+:[0-9]+"#, options: .regularExpression) {
                return TestServer(process: process, url: String(log.value[range].dropFirst("listening on ".count)), dataDirectory: data)
            }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        process.terminate()
        throw HarnessError.serverDidNotStart(log.value)
    }

    /// Stops the server (SIGTERM, then SIGKILL after 5 s: an event stream whose client has gone keeps a graceful
    /// shutdown waiting until the next heartbeat) and waits for it.
    func stop() async {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = ContinuousClock.now + .seconds(5)
        while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
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
        let process = Process()
        process.executableURL = builtExecutable("appcli")
        process.arguments = arguments
        process.currentDirectoryURL = repositoryRoot
        var environment = ProcessInfo.processInfo.environment
        environment["APPCLI_HOME"] = home.path
        environment["APPCLI_SERVER"] = server
        environment.removeValue(forKey: "APPCLI_PASSWORD")
        process.environment = environment
        let out = Pipe()
        let err = Pipe()
        let input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        let collected = Locked((Data(), Data()))
        let group = DispatchGroup()
        for (index, pipe) in [out, err].enumerated() {
            group.enter()
            DispatchQueue.global().async {
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                collected.withLock { if index == 0 { $0.0 = data } else { $0.1 = data } }
                group.leave()
            }
        }
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                process.terminate()
                throw HarnessError.timedOut(arguments)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        await withCheckedContinuation { continuation in group.notify(queue: .global()) { continuation.resume() } }
        let (stdout, stderr) = collected.value
        return CLIResult(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
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

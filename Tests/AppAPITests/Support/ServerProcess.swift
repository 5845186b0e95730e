import Foundation
import Synchronization
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A real `appapi` process on 127.0.0.1 with an OS-chosen port, for tests where sockets, signals and restarts matter.
final class ServerProcess: Sendable {
    let process: Process
    let baseURL: URL
    private let output: OutputBuffer

    /// The built executable next to the test bundle.
    static var executable: URL {
        let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("appapi")
        if FileManager.default.isExecutableFile(atPath: besideTests.path) { return besideTests }
        return repositoryRoot.appendingPathComponent(".build/debug/appapi")
    }

    private init(process: Process, baseURL: URL, output: OutputBuffer) {
        self.process = process
        self.baseURL = baseURL
        self.output = output
    }

    /// Everything the server logged so far.
    var log: String { output.text }

    static func start(arguments: [String], environment: [String: String] = [:], timeout: Duration = .seconds(60)) async throws -> ServerProcess {
        let process = Process()
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        process.executableURL = executable
        process.arguments = ["serve", "--host", "127.0.0.1", "--port", "0"] + arguments
        process.currentDirectoryURL = repositoryRoot
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = pipe
        let output = OutputBuffer()
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if !data.isEmpty { output.append(data) }
        }
        try process.run()
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let text = output.text
            if let range = text.range(of: #"listening on (http://[0-9.]+:[0-9]+)"#, options: .regularExpression) {
                let url = String(text[range].dropFirst("listening on ".count))
                return ServerProcess(process: process, baseURL: URL(string: url)!, output: output)
            }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        process.terminate()
        throw ServerProcessError.didNotStart(output.text)
    }

    /// GET `path` (percent-encoded as needed) and return status and body.
    func get(_ path: String) async throws -> (status: Int, body: Data) {
        let (data, response) = try await URLSession.shared.data(from: URL(string: baseURL.absoluteString + path)!)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }

    /// Sends `signal` and waits for the process to exit; returns its exit status.
    func stop(signal: Int32 = SIGTERM, timeout: Duration = .seconds(20)) async throws -> Int32 {
        kill(process.processIdentifier, signal)
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        if process.isRunning {
            process.terminate()
            throw ServerProcessError.didNotStop
        }
        return process.terminationStatus
    }
}

enum ServerProcessError: Error {
    case didNotStart(String)
    case didNotStop
}

/// Output collected from a child process, appended from a reader thread.
final class OutputBuffer: Sendable {
    private let storage = Mutex("")
    var text: String { storage.withLock { $0 } }
    func append(_ data: Data) { storage.withLock { $0 += String(decoding: data, as: UTF8.self) } }
}

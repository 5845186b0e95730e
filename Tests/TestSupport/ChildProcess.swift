import Foundation
import Subprocess
import Synchronization
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// A program the tests run — `appapi serve`, `appcli`, curl, Python — through swift-subprocess rather than Foundation's
/// `Process`, whose Linux `run()` copies whole `dirent` names while scanning `/proc/self/fd` and crashes a test process
/// that holds many descriptors (swift-corelibs-foundation #5472). The child runs in the background; its output is
/// collected as it arrives and its exit is awaitable.
public final class ChildProcess: Sendable {
    private struct State {
        var pid: pid_t?
        var stdout = Data()
        var stderr = Data()
        /// stdout and stderr interleaved in arrival order, as a terminal would show them.
        var combined = Data()
        var status: Int32?
        var launchError: String?
    }

    private let state = Mutex(State())
    private let exited = Completion()

    /// Starts `executable` with `arguments`, the test process's environment updated by `environment` (a nil value
    /// removes the variable), in `workingDirectory`, writing `stdin` (then end-of-file) to its standard input.
    public init(
        _ executable: String, _ arguments: [String], environment: [String: String?] = [:], workingDirectory: String? = nil,
        stdin: String? = nil
    ) {
        let keys = Dictionary(uniqueKeysWithValues: environment.map { (Environment.Key(stringLiteral: $0.key), $0.value) })
        Task.detached { [self] in
            do {
                let result = try await Subprocess.run(
                    executable.contains("/") ? .path(FilePath(executable)) : .name(executable), arguments: Arguments(arguments),
                    environment: .inherit.updating(keys), workingDirectory: workingDirectory.map { FilePath($0) },
                    input: .inputWriter, output: .sequence, error: .sequence
                ) { execution in
                    self.state.withLock { $0.pid = execution.processIdentifier.value }
                    if let stdin { _ = try await execution.standardInputWriter.write(stdin) }
                    try await execution.standardInputWriter.finish()
                    async let out: Void = self.collect(execution.standardOutput, \State.stdout)
                    async let err: Void = self.collect(execution.standardError, \State.stderr)
                    _ = try await (out, err)
                }
                let code: Int32 =
                    switch result.terminationStatus {
                    case .exited(let code): code
                    case .signaled(let signal): 128 + signal
                    }
                self.state.withLock { $0.status = code }
            } catch {
                self.state.withLock {
                    $0.launchError = "\(executable): \(error)"
                    $0.status = 127
                }
            }
            self.exited.complete()
        }
    }

    private func collect(_ sequence: SubprocessOutputSequence, _ stream: WritableKeyPath<State, Data> & Sendable) async throws {
        for try await buffer in sequence {
            let chunk = buffer.withUnsafeBytes { Data($0) }
            state.withLock {
                $0[keyPath: stream].append(chunk)
                $0.combined.append(chunk)
            }
        }
    }

    /// What the child wrote to standard output so far.
    public var stdout: String { state.withLock { String(decoding: $0.stdout, as: UTF8.self) } }
    /// What the child wrote to standard error so far (and why it could not start, if it could not).
    public var stderr: String { state.withLock { String(decoding: $0.stderr, as: UTF8.self) + ($0.launchError ?? "") } }
    /// Both streams in arrival order.
    public var output: String { state.withLock { String(decoding: $0.combined, as: UTF8.self) + ($0.launchError ?? "") } }
    /// Whether the child has not yet exited (or not yet started).
    public var isRunning: Bool { state.withLock { $0.status == nil } }
    /// The exit status once the child has exited: its exit code, or 128 + the signal that ended it.
    public var status: Int32? { state.withLock { $0.status } }

    /// Sends `signal` to the child while it runs.
    public func signal(_ signal: Int32) {
        state.withLock { state in
            if state.status == nil, let pid = state.pid { kill(pid, signal) }
        }
    }

    /// Waits for the child to exit and returns its status; after `timeout` sends SIGKILL and throws.
    @discardableResult
    public func wait(timeout: Duration = .seconds(120)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let status { return status }
            try await Task.sleep(for: .milliseconds(20))
        }
        signal(SIGKILL)
        await exited.wait()
        throw ChildProcessError.timedOut(output)
    }

    /// Sends SIGTERM, then SIGKILL if the child has not exited within `grace`, and waits for it.
    public func stop(grace: Duration = .seconds(5)) async {
        signal(SIGTERM)
        if (try? await wait(timeout: grace)) == nil { await exited.wait() }
    }

    /// Runs a program to its end (at most `timeout`) and returns its exit status, stdout and stderr.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String?] = [:], workingDirectory: String? = nil,
        stdin: String? = nil, timeout: Duration = .seconds(120)
    ) async throws -> (status: Int32, stdout: String, stderr: String) {
        let child = ChildProcess(executable, arguments, environment: environment, workingDirectory: workingDirectory, stdin: stdin)
        let status = try await child.wait(timeout: timeout)
        return (status, child.stdout, child.stderr)
    }
}

public enum ChildProcessError: Error, CustomStringConvertible {
    case timedOut(String)

    public var description: String {
        switch self {
        case .timedOut(let output): "the program did not exit in time; it printed:\n\(output)"
        }
    }
}

/// A one-shot event many tasks can wait for.
private final class Completion: Sendable {
    private let state = Mutex<(done: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, []))

    func complete() {
        let waiting = state.withLock { state in
            state.done = true
            defer { state.waiting = [] }
            return state.waiting
        }
        for continuation in waiting { continuation.resume() }
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state in
                if state.done { return true }
                state.waiting.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }
}

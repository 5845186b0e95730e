import Foundation
import OneTripAPI
import OpenAPIRuntime
import SyncCore

/// Exit codes scripts can rely on (README, "appcli" section).
enum ExitStatus {
    /// Done.
    static let ok: Int32 = 0
    /// Refused: the server answered a 4xx problem, a mutator rejected the change, or a local file could not be used.
    static let refused: Int32 = 1
    /// The command line is wrong, or the command cannot run in this mode (e.g. a file upload while offline).
    static let usage: Int32 = 2
    /// Not logged in, or the session ended (expired, revoked, refresh token reused): run `appcli login`.
    static let auth: Int32 = 3
    /// The server failed (5xx) or could not be reached.
    static let server: Int32 = 4
    /// `appcli swarm`: some phone's replica does not match the server.
    static let convergence: Int32 = 5
}

/// Failures shown to the user as the server's problem (title, detail, code), never as a stack trace.
enum CLIError: Error {
    /// The server's RFC 9457 problem.
    case problem(Components.Schemas.Problem)
    /// A status the contract does not list for the operation.
    case unexpected(Int)
    /// The server could not be reached (connection refused, timeout, DNS).
    case unreachable(String)
    /// No session on this profile, or it can no longer be refreshed.
    case notLoggedIn(String)
    /// A usage problem found after parsing (unknown material, offline upload, …).
    case usage(String)
    /// A change refused before or after reaching the server: a mutator's code and sentence.
    case rejected(code: String, detail: String)
    /// A local failure (file, replica) with its explanation.
    case local(String)

    /// What to print on stderr.
    var message: String {
        switch self {
        case .problem(let problem):
            var text = "error: \(problem.title)" + (problem.detail.map { " — \($0)" } ?? "") + " [\(problem.code)]"
            for item in problem.errors ?? [] { text += "\n  \(item.pointer): \(item.detail)" }
            if let id = problem.requestId { text += "\n  (request \(id))" }
            return text
        case .unexpected(let status): return "error: unexpected HTTP status \(status)"
        case .unreachable(let detail): return "error: cannot reach the server (\(detail)); check --server or try `appcli offline on`"
        case .notLoggedIn(let detail): return "error: \(detail)"
        case .usage(let detail): return "error: \(detail)"
        case .rejected(let code, let detail): return "error: refused — \(detail) [\(code)]"
        case .local(let detail): return "error: \(detail)"
        }
    }

    /// The exit status for this failure.
    var exitCode: Int32 {
        switch self {
        case .problem(let problem): Self.exitCode(forStatus: problem.status)
        case .unexpected(let status): Self.exitCode(forStatus: status)
        case .unreachable: ExitStatus.server
        case .notLoggedIn: ExitStatus.auth
        case .usage: ExitStatus.usage
        case .rejected, .local: ExitStatus.refused
        }
    }

    /// The error as JSON for `--json` (on stderr, so stdout stays the command's result).
    var jsonObject: [String: Any] {
        switch self {
        case .problem(let problem):
            var object: [String: Any] = ["type": problem._type, "title": problem.title, "status": problem.status, "code": problem.code]
            if let detail = problem.detail { object["detail"] = detail }
            if let id = problem.requestId { object["requestId"] = id }
            if let errors = problem.errors { object["errors"] = errors.map { ["pointer": $0.pointer, "detail": $0.detail] } }
            return object
        case .unexpected(let status): return ["code": "unexpected_status", "status": status, "title": "Unexpected response"]
        case .unreachable(let detail): return ["code": "unreachable", "title": "Server unreachable", "detail": detail]
        case .notLoggedIn(let detail): return ["code": "not_logged_in", "title": "Not logged in", "detail": detail]
        case .usage(let detail): return ["code": "usage", "title": "Usage", "detail": detail]
        case .rejected(let code, let detail): return ["code": code, "title": "Refused", "detail": detail]
        case .local(let detail): return ["code": "local_error", "title": "Local error", "detail": detail]
        }
    }

    /// 401 means the session is gone; any other 4xx is a refusal; 5xx (and anything stranger) is the server's fault.
    static func exitCode(forStatus status: Int) -> Int32 {
        switch status {
        case 401: ExitStatus.auth
        case 400..<500: ExitStatus.refused
        default: ExitStatus.server
        }
    }

    /// The problem or undocumented status inside any generated `Output` that is not the expected success case.
    /// Every error response of the contract is `Components.Responses.Problem`, so one reflective look replaces a
    /// `switch` over each operation's error cases.
    static func from(_ output: Any) -> CLIError {
        let mirror = Mirror(reflecting: output)
        guard let child = mirror.children.first else { return .unexpected(0) }
        if let response = child.value as? Components.Responses.Problem, case .applicationProblemJson(let problem) = response.body {
            return .problem(problem)
        }
        if child.label == "undocumented", let status = Mirror(reflecting: child.value).children.first?.value as? Int {
            return .unexpected(status)
        }
        return .unexpected(0)
    }

    /// Maps anything a command may throw to a `CLIError` (transport failures become `unreachable`).
    static func wrap(_ error: any Error) -> CLIError? {
        switch error {
        case let error as CLIError: return error
        case let error as ClientError:
            if let inner = error.underlyingError as? CLIError { return inner }
            if error.underlyingError is DecodingError { return .local("unreadable response from the server: \(error.underlyingError)") }
            return .unreachable(shortDescription(error.underlyingError))
        case let error as SyncTransportError:
            switch error {
            case .offline: return .unreachable("no connection")
            case .transient(let detail): return .unreachable(detail)
            case .permanent(let detail): return .local("sync refused: \(detail)")
            case .refused(_, let detail): return .local("sync refused: \(detail)")
            }
        case let error as SyncEngineError: return .unreachable("the server's sync answers do not progress (\(error))")
        case let error as MutationRejection: return .rejected(code: error.code.rawValue, detail: error.detail)
        case let error as ReplicaError: return .local("replica: \(error)")
        default: return nil
        }
    }

    private static func shortDescription(_ error: any Error) -> String {
        let text = String(describing: error)
        for (needle, plain) in [
            ("Connection refused", "connection refused"), ("connectTimeout", "connection timed out"), ("deadlineExceeded", "no answer in time"),
        ]
        where text.contains(needle) {
            return plain
        }
        return text.count > 200 ? String(text.prefix(200)) + "…" : text
    }
}

/// Prints `error` the way the user asked for (text or JSON) on stderr and returns its exit status.
func report(_ error: CLIError, json: Bool) -> Int32 {
    if json, let data = try? JSONSerialization.data(withJSONObject: ["error": error.jsonObject], options: [.sortedKeys, .withoutEscapingSlashes]) {
        FileHandle.standardError.write(data + Data("\n".utf8))
    } else {
        FileHandle.standardError.write(Data((error.message + "\n").utf8))
    }
    return error.exitCode
}

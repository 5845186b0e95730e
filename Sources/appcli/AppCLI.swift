import ArgumentParser
import Foundation

/// `appcli`: stands in for phones, kiosks and clerks in the terminal.
@main
struct AppCLI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "appcli",
        abstract: "OneTrip in the terminal: a phone (or a clerk's workbench) backed by an offline replica.",
        discussion: """
            Each --profile is one device with its own key, session and replica under $APPCLI_HOME (default ~/.appcli).
            Exit codes: 0 ok, 1 refused (server 4xx, rejected change), 2 usage, 3 not logged in, 4 server error or
            unreachable, 5 swarm convergence failure.
            """,
        subcommands: [
            RegisterCommand.self, LoginCommand.self, LogoutCommand.self, WhoamiCommand.self, DevicesCommand.self,
            CatalogCommand.self, BundlesCommand.self,
            ApplyCommand.self, EditDraftCommand.self, SubmitDraftCommand.self, CasesCommand.self, TrackCommand.self,
            WithdrawCommand.self, SupplementCommand.self, RateCommand.self,
            AppointmentsCommand.self, TicketCommand.self, ProfileCommand.self, MessagesCommand.self,
            SyncCommand.self, OfflineCommand.self, OutboxCommand.self,
            WorkbenchCommand.self,
            SwarmCommand.self, BenchCommand.self,
        ]
    )

    /// Runs the command and turns every failure into a message and one of the documented exit codes (never a trace).
    static func main() async {
        do {
            var command = try parseAsRoot(hoistingGlobalOptions(Array(CommandLine.arguments.dropFirst())))
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            Foundation.exit(ExitStatus.ok)
        } catch {
            Foundation.exit(status(for: error))
        }
    }

    /// `appcli --profile alice --json cases` is how the design writes it, but the options belong to each subcommand:
    /// move global options given before the subcommand to the end (before a `--`, if any).
    static func hoistingGlobalOptions(_ arguments: [String]) -> [String] {
        var leading: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--json" {
                leading.append(argument)
                index += 1
            } else if argument == "--server" || argument == "--profile", index + 1 < arguments.count {
                leading += [argument, arguments[index + 1]]
                index += 2
            } else if argument.hasPrefix("--server=") || argument.hasPrefix("--profile=") {
                leading.append(argument)
                index += 1
            } else {
                break
            }
        }
        guard !leading.isEmpty, index < arguments.count else { return arguments }
        var rest = Array(arguments[index...])
        let terminator = rest.firstIndex(of: "--") ?? rest.endIndex
        rest.insert(contentsOf: leading, at: terminator)
        return rest
    }

    private static func status(for error: any Error) -> Int32 {
        let json = CommandLine.arguments.contains("--json")
        if let failure = CLIError.wrap(error) { return report(failure, json: json) }
        if let code = error as? ExitCode { return code.rawValue }
        switch exitCode(for: error) {
        case .success:
            print(fullMessage(for: error))
            return ExitStatus.ok
        case .validationFailure:
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            return ExitStatus.usage
        default:
            return report(.local(fullMessage(for: error)), json: json)
        }
    }
}

/// Options every command shares.
struct GlobalOptions: ParsableArguments {
    @Option(help: "Server base URL (else APPCLI_SERVER, else the profile's, else http://127.0.0.1:8080).")
    var server: String?

    @Option(help: "The device profile to act as (one replica, key and session each).")
    var profile: String = "default"

    @Flag(help: "Print JSON for scripts instead of tables.")
    var json = false

    /// The server for commands that have no profile (bench): `--server`, `APPCLI_SERVER`, or the default.
    var serverURL: URL {
        get throws { try resolveServerURL(saved: nil) }
    }

    /// `--server`, else `APPCLI_SERVER`, else the URL the profile logged in to, else the local default.
    func resolveServerURL(saved: String?) throws -> URL {
        let environment = ProcessInfo.processInfo.environment["APPCLI_SERVER"].flatMap { $0.isEmpty ? nil : $0 }
        let raw = server ?? environment ?? saved ?? "http://127.0.0.1:8080"
        guard let url = URL(string: raw), url.scheme == "http" || url.scheme == "https", url.host != nil else {
            throw CLIError.usage("--server must be an http(s) URL, got \(raw)")
        }
        return url
    }
}

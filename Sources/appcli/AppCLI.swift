import ArgumentParser
import Foundation

/// `appcli`: stands in for phones, kiosks and clerks in the terminal.
@main
struct AppCLI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "appcli",
        abstract: "OneTrip in the terminal: browse the catalog (more commands arrive with each capability).",
        subcommands: [CatalogCommand.self, BenchCommand.self]
    )
}

/// Options every command shares.
struct GlobalOptions: ParsableArguments {
    @Option(help: "Server base URL (APPCLI_SERVER; default http://127.0.0.1:8080).")
    var server: String?

    @Flag(help: "Print JSON for scripts instead of tables.")
    var json = false

    var serverURL: URL {
        get throws {
            let raw = server ?? ProcessInfo.processInfo.environment["APPCLI_SERVER"] ?? "http://127.0.0.1:8080"
            guard let url = URL(string: raw), url.scheme == "http" || url.scheme == "https", url.host != nil else {
                throw ValidationError("--server must be an http(s) URL, got \(raw)")
            }
            return url
        }
    }
}

import ArgumentParser
import Foundation
import Hummingbird
import Logging

/// `appapi`: the OneTrip server. `appapi` alone is `appapi serve`.
@main
struct AppAPICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "appapi",
        abstract: "OneTrip server: identity, catalog, cases, wallet, payments and delta sync.",
        subcommands: [ServeCommand.self, SeedCommand.self, KeysCommand.self],
        defaultSubcommand: ServeCommand.self
    )
}

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the HTTP server (default).")

    @OptionGroup var options: ServerOptions

    func run() async throws {
        let config = try options.resolve()
        restrictFileCreation()
        let app = try await buildApplication(config)
        try await app.runService()
    }
}

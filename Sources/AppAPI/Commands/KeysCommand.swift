import ArgumentParser

/// `appapi keys rotate`: start signing access tokens with a new key. The old key stays published at
/// `/.well-known/jwks.json` until every token it signed has expired; running servers pick the new key up
/// within a minute (at once when they see its `kid`).
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "keys", abstract: "Manage signing keys.", subcommands: [Rotate.self])

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Rotate the access-token signing key.")
        @OptionGroup var options: ServerOptions

        func run() async throws {
            let kid = try await withMigratedDatabase(try options.resolve()) { database, _ in
                try await SigningKeyStore.rotate(purpose: "access", on: database)
            }
            print("new access-token key: \(kid)")
        }
    }
}

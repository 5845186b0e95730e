import ArgumentParser

/// `appapi keys rotate`: start signing access tokens with a new key. The old key stays published at
/// `/.well-known/jwks.json` until every token it signed has expired; running servers pick the new key up
/// within a minute (at once when they see its `kid`). `appapi keys rotate --issuer DEPARTMENT` rotates a
/// department's license-issuing key instead: the retired key stays published for good (licenses live for years),
/// status lists are re-signed with the new key within ten minutes.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "keys", abstract: "Manage signing keys.", subcommands: [Rotate.self])

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Rotate the access-token signing key, or a department's issuer key.")
        @OptionGroup var options: ServerOptions
        @Option(help: "Rotate this department's license-issuing key (e.g. hz-public-security) instead.")
        var issuer: String?

        func run() async throws {
            let config = try options.resolve()
            if let issuer {
                let kid = try await withMigratedDatabase(config) { database, _ in
                    let keys = IssuerKeyStore(database: database, publicBaseURL: config.publicURL, runtime: config.runtime)
                    guard try await !keys.publishedKeys(of: issuer).isEmpty else { throw ValidationError("no issuer \(issuer)") }
                    return try await keys.rotate(issuer)
                }
                print("new issuer key of \(issuer): \(kid)")
                return
            }
            let kid = try await withMigratedDatabase(config) { database, _ in
                try await SigningKeyStore.rotate(purpose: "access", on: database)
            }
            print("new access-token key: \(kid)")
        }
    }
}

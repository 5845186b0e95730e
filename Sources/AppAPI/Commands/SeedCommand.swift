import ArgumentParser
import Foundation
import Logging

/// `appapi seed`: load the seed catalog (idempotent) and optionally a synthetic catalog for scale tests.
struct SeedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed",
        abstract: "Load seeds/ into the database (idempotent); --synthetic-matters N adds N generated matters."
    )

    @OptionGroup var options: ServerOptions

    @Option(help: "Also generate this many synthetic matters (e.g. 9593, the size of the city's catalog).")
    var syntheticMatters: Int = 0

    @Flag(
        help: """
            With --dev: also create the demo accounts of seeds/demo-accounts.json (their passwords are published). Without --dev: \
            create the first admin ('admin') if there is none, with a generated password printed once.
            """)
    var demoAccounts = false

    func validate() throws {
        guard syntheticMatters >= 0 else { throw ValidationError("--synthetic-matters must not be negative") }
    }

    func run() async throws {
        let config = try options.resolve()
        try await withMigratedDatabase(config) { database, logger in
            let seeder = Seeder(database: database, logger: logger)
            let outcome = try await seeder.seedCatalog(try SeedFiles.load(from: config.seedsDirectory))
            print("catalog: \(outcome)")
            if syntheticMatters > 0 {
                let total = syntheticMatters
                try await seeder.seedSynthetic(matters: total) { done in
                    let width = 30
                    let filled = width * done / total
                    FileHandle.standardError.write(
                        Data(
                            "\r[\(String(repeating: "#", count: filled))\(String(repeating: ".", count: width - filled))] \(done)/\(total) synthetic matters"
                                .utf8))
                }
                FileHandle.standardError.write(Data("\n".utf8))
            }
            print("matters in catalog: \(try await CatalogStore(database: database).matterCount())")
            if demoAccounts && config.dev {
                let created = try await DemoAccounts.load(
                    from: config.seedsDirectory, into: database, bcryptCost: config.bcryptCost, threads: config.bcryptThreads)
                print("demo accounts created: \(created)")
            } else if demoAccounts {
                if let password = try await BootstrapAdmin.createIfNeeded(in: database, bcryptCost: config.bcryptCost, threads: config.bcryptThreads)
                {
                    print("admin account created: username \(BootstrapAdmin.username), password \(password)")
                    print("This password is shown only now: store it in your password manager. No demo accounts were created (they need --dev).")
                } else {
                    print("an admin account exists already; nothing created (demo accounts need --dev)")
                }
            }
        }
    }
}

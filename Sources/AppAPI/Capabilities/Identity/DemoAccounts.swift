import Foundation
import SyncCore

/// The demo accounts of `seeds/demo-accounts.json` (dev mode, or `appapi seed --dev --demo-accounts`): citizens,
/// enterprises, one clerk per department, an admin and kiosks, with the passwords listed in the file — published
/// passwords, so never outside dev mode (`BootstrapAdmin` makes the first admin of a real deployment).
enum DemoAccounts {
    struct Entry: Decodable, Sendable {
        var kind: String
        var username: String?
        var idNumber: String?
        var creditCode: String?
        var name: String
        var phone: String?
        var password: String
        var departmentId: String?
        var centerId: String?
    }

    /// Creates the accounts that do not exist yet; returns how many were created. Hashes on a pool of its own (the
    /// server's is not running yet), `threads` at a time so no hash is refused for a full queue.
    static func load(from seedsDirectory: URL, into database: any Database, bcryptCost: UInt8, threads: Int) async throws -> Int {
        let url = seedsDirectory.appendingPathComponent("demo-accounts.json")
        let entries = try JSONDecoder().decode([Entry].self, from: Data(contentsOf: url))
        let repository = AccountStore(database: database)
        var missing: [Entry] = []
        for entry in entries {
            guard let identifier = try identifier(of: entry) else { throw SeedError(problems: ["demo account \(entry.name): no identifier"]) }
            if try await repository.account(identifiedBy: identifier) == nil { missing.append(entry) }
        }
        guard !missing.isEmpty else { return 0 }
        let pool = BcryptPool(threads: threads, maxQueued: missing.count)
        let hasher = PasswordHasher(cost: bcryptCost, pool: pool)
        do {
            let accounts = try await withThrowingTaskGroup(of: Account.self) { group in
                for entry in missing {
                    group.addTask {
                        Account(
                            id: Account.newID(), kind: AccountKind(rawValue: entry.kind) ?? .citizen, idNumber: entry.idNumber?.uppercased(),
                            creditCode: entry.creditCode?.uppercased(), username: entry.username, name: entry.name, phone: entry.phone,
                            passwordHash: try await hasher.hash(entry.password), departmentID: entry.departmentId, centerID: entry.centerId,
                            createdAt: Clock.nowMillis()
                        )
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            try await database.transaction { db in
                for account in accounts { try await AccountStore.insert(account, on: db) }
            }
            await pool.shutdown()
            return accounts.count
        } catch {
            await pool.shutdown()
            throw error
        }
    }

    private static func identifier(of entry: Entry) throws -> AccountStore.Identifier? {
        if let id = entry.idNumber { return .idNumber(try ResidentIDNumber(id).rawValue) }
        if let code = entry.creditCode { return .creditCode(try CreditCode(code).rawValue) }
        return entry.username.map { .username($0) }
    }
}

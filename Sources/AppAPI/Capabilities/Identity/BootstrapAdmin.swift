import Foundation
import SQLKit

/// The first admin of a real deployment (`appapi seed --demo-accounts` without `--dev`): `admin` with a generated
/// password that is shown once, never one from the published seed files.
enum BootstrapAdmin {
    static let username = "admin"

    /// Creates `admin` when the database has no admin yet and returns its password (for the caller to print once);
    /// `nil` when an admin exists.
    static func createIfNeeded(in database: any Database, bcryptCost: UInt8, threads: Int) async throws -> String? {
        let hasAdmin = try await database.read { db in
            try await db.select().column("id").from("accounts").where("kind", .equal, AccountKind.admin.rawValue).limit(1).first() != nil
        }
        guard !hasAdmin else { return nil }
        let password = generatePassword()
        let pool = BcryptPool(threads: threads, maxQueued: 1)
        let hash: String
        do {
            hash = try await PasswordHasher(cost: bcryptCost, pool: pool).hash(password)
            await pool.shutdown()
        } catch {
            await pool.shutdown()
            throw error
        }
        let account = Account(id: Account.newID(), kind: .admin, username: username, name: "管理员", passwordHash: hash, createdAt: Clock.nowMillis())
        do {
            try await AccountStore(database: database).create(account)
        } catch let error as AppError where error.code == .accountExists {
            throw ConfigurationError("the username '\(username)' is taken by an account that is not an admin; create the first admin by hand")
        }
        return password
    }

    /// 20 characters of letters and digits without look-alikes (about 115 bits), with at least one of each.
    static func generatePassword() -> String {
        let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")
        var generator = SystemRandomNumberGenerator()
        while true {
            let password = String((0..<20).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
            if password.contains(where: \.isNumber) && password.contains(where: \.isLetter) { return password }
        }
    }
}

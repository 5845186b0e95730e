import AsyncHTTPClient
import Foundation
import SyncCore

/// One command's view of a profile: its saved state, a connection whose tokens refresh themselves into
/// `profile.json`, and the replica with its sync engine.
final class Session: @unchecked Sendable {
    let global: GlobalOptions
    let store: ProfileStore
    /// The profile as loaded when the command started (updated by `updateProfile`).
    private(set) var profile: ProfileFile
    let serverURL: URL
    let connection: APIConnection
    private var openedReplica: Replica?

    /// Opens the profile `--profile` names (created on first use).
    init(_ global: GlobalOptions) throws {
        self.global = global
        store = try ProfileStore(name: global.profile)
        let saved = try store.load()
        profile = saved
        serverURL = try global.resolveServerURL(saved: saved.server)
        let tokens = saved.accessToken.map { TokenStore.Tokens(access: $0, refresh: saved.refreshToken, expiresAt: saved.accessTokenExpiresAt) }
        connection = APIConnection(serverURL: serverURL, tokens: TokenStore(tokens: tokens, profile: store))
    }

    var client: Client { connection.client }
    var isOffline: Bool { profile.isOffline }

    /// The logged-in account, or exit 3 telling the user to log in.
    func requireAccount() throws -> AccountSummary {
        guard let account = profile.account, profile.refreshToken != nil || profile.accessToken != nil else {
            throw CLIError.notLoggedIn("profile '\(store.name)' is not logged in; run `appcli --profile \(store.name) login` first")
        }
        return account
    }

    /// Refuses commands that only work online while the profile is offline.
    func requireOnline(_ what: String) throws {
        if isOffline { throw CLIError.usage("\(what) needs the server, and profile '\(store.name)' is offline; run `appcli offline off` first") }
    }

    /// The profile's replica (`replica.sqlite`), opened on first use.
    var replica: Replica {
        get throws {
            if let openedReplica { return openedReplica }
            do {
                // The replica holds the account's cases and messages: create it private before SQLite opens it.
                if !FileManager.default.fileExists(atPath: store.replicaURL.path) {
                    FileManager.default.createFile(atPath: store.replicaURL.path, contents: nil, attributes: [.posixPermissions: 0o600])
                }
                let opened = try Replica(path: store.replicaURL.path)
                openedReplica = opened
                return opened
            } catch {
                throw CLIError.local("cannot open the replica \(store.replicaURL.path): \(error)")
            }
        }
    }

    /// Closes the replica and deletes its files (logout, or another account on this profile).
    func discardReplica() throws {
        openedReplica = nil  // the last reference: GRDB closes the database before the files go
        try store.removeReplica()
    }

    /// A sync engine over this session's connection.
    func engine() throws -> SyncEngine {
        SyncEngine(replica: try replica, transport: .http(connection), options: SyncOptions(maxAttempts: 3))
    }

    /// Pushes the outbox and pulls until up to date; refuses while offline.
    @discardableResult
    func sync(progress: (@Sendable (SyncProgress) -> Void)? = nil) async throws -> SyncReport {
        _ = try requireAccount()
        try requireOnline("sync")
        return try await engine().sync(progress: progress)
    }

    /// Syncs when online; offline, leaves the change queued and returns nil.
    func syncIfOnline() async throws -> SyncReport? {
        isOffline ? nil : try await sync()
    }

    /// Changes `profile.json` under the profile lock.
    func updateProfile(_ change: (inout ProfileFile) throws -> Void) throws {
        profile = try store.update(change)
    }

    /// Shuts the HTTP client down (every command calls this, also on failure).
    func close() async { await connection.shutdown() }
}

/// Runs `body` with the profile's session, closing it afterwards whatever happens.
func withSession<T>(_ global: GlobalOptions, _ body: (Session) async throws -> T) async throws -> T {
    let session = try Session(global)
    do {
        let result = try await body(session)
        await session.close()
        return result
    } catch {
        await session.close()
        throw error
    }
}

import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A device's session tokens, refreshed automatically: before a call when the access token expires within a minute,
/// and once after a call answered 401 `invalid_token`. Refreshes are single-flight — a refresh token works once, and
/// presenting it twice revokes the device — within the process by a shared task, and across `appcli` processes of the
/// same profile by the profile lock (the second process adopts the tokens the first one saved).
final class TokenStore: Sendable {
    /// Tokens as the server issued them.
    struct Tokens: Sendable, Equatable {
        var access: String
        var refresh: String?
        /// Seconds since 1970; `nil` when unknown (a token set by hand).
        var expiresAt: Double?
    }

    /// Refresh this long before expiry, so a call never leaves with a token that dies on the way.
    static let refreshMargin: Double = 60

    private struct State {
        var tokens: Tokens?
        var inflight: Task<String, any Error>?
    }

    private let state: Mutex<State>
    private let profile: ProfileStore?
    private let exchange: Mutex<(@Sendable (String) async throws -> Tokens)?>

    /// A store holding `tokens`; with `profile`, refreshed tokens are saved there under the profile lock.
    init(tokens: Tokens? = nil, profile: ProfileStore? = nil) {
        self.state = Mutex(State(tokens: tokens))
        self.profile = profile
        self.exchange = Mutex(nil)
    }

    /// How a refresh token is traded for new tokens (`POST /v1/auth/refresh` on a client without this middleware).
    func setExchange(_ exchange: @escaping @Sendable (String) async throws -> Tokens) {
        self.exchange.withLock { $0 = exchange }
    }

    /// The current tokens.
    var tokens: Tokens? {
        get { state.withLock { $0.tokens } }
        set { state.withLock { $0.tokens = newValue } }
    }

    /// Whether a rejected access token can be replaced without the user.
    var canRefresh: Bool { state.withLock { $0.tokens?.refresh != nil } }

    /// An access token that will not expire within `refreshMargin`, refreshing first if needed; `nil` without a session.
    func accessToken() async throws -> String? {
        let (current, stale) = state.withLock { state -> (Tokens?, Bool) in
            guard let tokens = state.tokens else { return (nil, false) }
            let expiring = tokens.expiresAt.map { $0 - Self.refreshMargin <= Date().timeIntervalSince1970 } ?? false
            return (tokens, expiring && tokens.refresh != nil)
        }
        guard let current else { return nil }
        return stale ? try await refresh(replacing: current.access) : current.access
    }

    /// A new access token in place of `rejected` (joins a refresh already running; if another call already replaced
    /// `rejected`, returns that token without refreshing again).
    func refresh(replacing rejected: String) async throws -> String {
        let task = state.withLock { state -> Task<String, any Error> in
            if let running = state.inflight { return running }
            if let current = state.tokens?.access, current != rejected {
                return Task { current }
            }
            let started = Task { try await self.performRefresh() }
            state.inflight = started
            return started
        }
        return try await task.value
    }

    private func performRefresh() async throws -> String {
        defer { state.withLock { $0.inflight = nil } }
        guard let exchange = exchange.withLock({ $0 }), let ours = tokens?.refresh else {
            throw CLIError.notLoggedIn("not logged in on this profile; run `appcli login`")
        }
        guard let profile else {
            let fresh = try await exchange(ours)
            tokens = fresh
            return fresh.access
        }
        // Across processes: hold the profile lock while refreshing, and adopt what another process saved meanwhile.
        let lock = try ProfileLock(profile)
        defer { lock.release() }
        let saved = try profile.load()
        if let savedRefresh = saved.refreshToken, savedRefresh != ours, let access = saved.accessToken {
            let adopted = Tokens(access: access, refresh: savedRefresh, expiresAt: saved.accessTokenExpiresAt)
            tokens = adopted
            if (adopted.expiresAt ?? .infinity) - Self.refreshMargin > Date().timeIntervalSince1970 { return access }
        }
        do {
            let fresh = try await exchange(tokens?.refresh ?? ours)
            tokens = fresh
            var updated = try profile.load()
            updated.accessToken = fresh.access
            updated.refreshToken = fresh.refresh
            updated.accessTokenExpiresAt = fresh.expiresAt
            try profile.save(updated)
            return fresh.access
        } catch let error as CLIError {
            if case .notLoggedIn = error {
                // The session is over for good: forget it so every command says "log in" instead of retrying.
                tokens = nil
                var updated = try profile.load()
                updated.clearSession()
                try profile.save(updated)
            }
            throw error
        }
    }
}

/// The profile's `flock`, held across an `await` (which `ProfileStore.withLock` cannot do).
struct ProfileLock {
    private let fd: Int32

    init(_ profile: ProfileStore) throws {
        let path = profile.lockURL.path
        fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CLIError.local("cannot open \(path): \(String(cString: strerror(errno)))") }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else {
                close(fd)
                throw CLIError.local("cannot lock \(path): \(String(cString: strerror(errno)))")
            }
        }
    }

    func release() {
        flock(fd, LOCK_UN)
        close(fd)
    }
}

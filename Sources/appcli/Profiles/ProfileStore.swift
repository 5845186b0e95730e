import Foundation
import OneTripAPI
import SyncCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
    import OneTripAPI
#endif

/// What a profile remembers between runs (`profile.json`). Tokens live here, so the file is private (0600).
struct ProfileFile: Codable, Sendable, Equatable {
    /// The server this profile logged in to (used when neither `--server` nor `APPCLI_SERVER` is given).
    var server: String?
    /// The logged-in account, as the server described it at login.
    var account: AccountSummary?
    /// The device id the server gave this profile at login.
    var deviceId: String?
    var accessToken: String?
    var refreshToken: String?
    /// When the access token expires, in seconds since 1970.
    var accessTokenExpiresAt: Double?
    /// `appcli offline on`: the profile does not talk to the server; changes queue in the outbox.
    var offline: Bool?

    var isOffline: Bool { offline ?? false }
    var isLoggedIn: Bool { account != nil && refreshToken != nil }

    /// Forgets the session (tokens, device, account) but keeps the server and the offline switch.
    mutating func clearSession() {
        account = nil
        deviceId = nil
        accessToken = nil
        refreshToken = nil
        accessTokenExpiresAt = nil
    }
}

/// The account a profile is logged in as: what `whoami` shows offline.
struct AccountSummary: Codable, Sendable, Equatable {
    var id: String
    var kind: String
    var name: String
    var idNumberMasked: String?
    var creditCode: String?
    var username: String?
    var phoneMasked: String?
    var departmentId: String?
    var centerId: String?

    /// The account's kind as the mutators know it; an unknown kind counts as a citizen, the least privileged applicant.
    var role: AccountRole { AccountRole(rawValue: kind) ?? .citizen }

    init(_ account: Components.Schemas.Account) {
        id = account.id
        kind = account.kind.rawValue
        name = account.name
        idNumberMasked = account.idNumberMasked
        creditCode = account.creditCode
        username = account.username
        phoneMasked = account.phoneMasked
        departmentId = account.departmentId
        centerId = account.centerId
    }
}

/// One profile's directory, `$APPCLI_HOME/<name>/`: `profile.json`, `device-key.pem`, `replica.sqlite`.
/// A profile is one device: its own key, session and replica.
struct ProfileStore: Sendable {
    let name: String
    let directory: URL

    var profileURL: URL { directory.appendingPathComponent("profile.json") }
    var deviceKeyURL: URL { directory.appendingPathComponent("device-key.pem") }
    var replicaURL: URL { directory.appendingPathComponent("replica.sqlite") }
    /// The file `flock` is taken on (see `ProfileLock`).
    var lockURL: URL { directory.appendingPathComponent(".lock") }

    /// `$APPCLI_HOME`, or `~/.appcli`.
    static var home: URL {
        if let explicit = ProcessInfo.processInfo.environment["APPCLI_HOME"], !explicit.isEmpty {
            return URL(fileURLWithPath: explicit, isDirectory: true)
        }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".appcli", isDirectory: true)
    }

    /// The store of profile `name` (created on first use, mode 0700); names are 1–64 of letters, digits, `.`, `_`, `-`.
    init(name: String, home: URL = ProfileStore.home) throws {
        guard (1...64).contains(name.count), name.first != ".",
            name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "_" || $0 == "-") })
        else { throw CLIError.usage("--profile must be 1–64 letters, digits, '.', '_' or '-' (got '\(name)')") }
        self.name = name
        self.directory = home.appendingPathComponent(name, isDirectory: true)
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw CLIError.local("cannot create the profile directory \(directory.path): \(error.localizedDescription)")
        }
    }

    /// The saved profile, or an empty one before the first login.
    func load() throws -> ProfileFile {
        guard let data = FileManager.default.contents(atPath: profileURL.path) else { return ProfileFile() }
        do {
            return try JSONDecoder().decode(ProfileFile.self, from: data)
        } catch {
            throw CLIError.local("\(profileURL.path) is damaged (\(error)); remove it and log in again")
        }
    }

    /// Saves the profile atomically, readable by its owner only.
    func save(_ profile: ProfileFile) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try writeAtomically(try encoder.encode(profile), to: profileURL, mode: 0o600)
    }

    /// Loads, changes and saves the profile under the profile lock, so two `appcli` processes never lose each other's edits.
    @discardableResult
    func update(_ change: (inout ProfileFile) throws -> Void) throws -> ProfileFile {
        try withLock {
            var profile = try load()
            try change(&profile)
            try save(profile)
            return profile
        }
    }

    /// Runs `body` holding an exclusive lock on the profile (`flock`, released when the process dies).
    func withLock<T>(_ body: () throws -> T) throws -> T {
        let lock = try ProfileLock(self)
        defer { lock.release() }
        return try body()
    }

    /// Removes the replica files (after logout, or when another account logs in on this profile).
    func removeReplica() throws {
        for suffix in ["", "-wal", "-shm"] {
            let path = replicaURL.path + suffix
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        }
    }
}

/// Writes `data` to a temporary file created with `mode` in the same directory, flushes it and renames it over `url`:
/// readers see the old file or the new one, never half of it, and the file is never readable by others meanwhile.
func writeAtomically(_ data: Data, to url: URL, mode: mode_t) throws {
    let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString.prefix(8)).tmp")
    let fd = open(temporary.path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode)
    guard fd >= 0 else { throw CLIError.local("cannot write \(url.path): \(String(cString: strerror(errno)))") }
    var failure: String?
    data.withUnsafeBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let written = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                failure = String(cString: strerror(errno))
                return
            }
            offset += written
        }
    }
    if failure == nil && fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
    close(fd)
    if failure == nil && rename(temporary.path, url.path) != 0 { failure = String(cString: strerror(errno)) }
    if let failure {
        unlink(temporary.path)
        throw CLIError.local("cannot write \(url.path): \(failure)")
    }
}

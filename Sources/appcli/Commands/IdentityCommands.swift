import ArgumentParser
import Foundation
import OneTripAPI
import SyncCore

/// `appcli register`: a citizen (resident ID) or an enterprise (credit code); logs this profile in afterwards.
struct RegisterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "register", abstract: "Register a citizen or an enterprise account.")

    @OptionGroup var global: GlobalOptions
    @Option(help: "Resident ID number (citizens, GB 11643).") var idNumber: String?
    @Option(help: "Unified social credit code (enterprises, GB 32100).") var creditCode: String?
    @Option(help: "Name as on the ID card or licence.") var name: String
    @Option(help: "Mainland mobile number.") var phone: String
    @Option(help: passwordHelp) var password: String?
    @Flag(help: "Only register; do not log this profile in.") var noLogin = false

    func validate() throws {
        guard (idNumber == nil) != (creditCode == nil) else { throw ValidationError("give exactly one of --id-number or --credit-code") }
    }

    func run() async throws {
        let secret = try readPassword(password, confirm: true)
        try await withSession(global) { session in
            try session.requireOnline("register")
            let output = try await session.client.register(
                body: .json(
                    .init(
                        kind: idNumber != nil ? .citizen : .enterprise, idNumber: idNumber, creditCode: creditCode, name: name, phone: phone,
                        password: secret)))
            // The server answers a free and a taken identifier alike (202): only logging in tells them apart.
            guard case .accepted = output else { throw CLIError.from(output) }
            if noLogin {
                if global.json { return try printJSON(["status": "accepted"]) }
                print("registration accepted; log in with `appcli login` (an identifier registered before keeps its own password)")
                return
            }
            do {
                try await LoginCommand.logIn(
                    session, identifier: .init(idNumber: idNumber, creditCode: creditCode), password: secret, deviceName: nil, sync: true)
            } catch CLIError.problem(var problem) where problem.code == "invalid_credentials" {
                problem.detail =
                    "The registration was accepted, but this identifier was registered before, with another password. If that was not you, "
                    + "take your ID card (or business licence) to a service centre."
                throw CLIError.problem(problem)
            }
        }
    }
}

/// `appcli login`: starts a session on this profile's device (registering its public key) and syncs.
struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "login", abstract: "Log this profile (device) in.")

    @OptionGroup var global: GlobalOptions
    @Option(help: "Resident ID number (citizens).") var idNumber: String?
    @Option(help: "Unified social credit code (enterprises).") var creditCode: String?
    @Option(help: "Username (clerks, admins, kiosks).") var username: String?
    @Option(help: passwordHelp) var password: String?
    @Option(help: "Device name shown in `appcli devices` (default: appcli <profile>@<host>).") var deviceName: String?
    @Flag(help: "Do not sync after logging in.") var noSync = false

    /// Which account to log in as: exactly one identifier.
    struct Identifier {
        var idNumber: String?
        var creditCode: String?
        var username: String?
    }

    func validate() throws {
        guard [idNumber, creditCode, username].compactMap({ $0 }).count == 1 else {
            throw ValidationError("give exactly one of --id-number, --credit-code or --username")
        }
    }

    func run() async throws {
        let secret = try readPassword(password, confirm: false)
        try await withSession(global) { session in
            try await Self.logIn(
                session, identifier: .init(idNumber: idNumber, creditCode: creditCode, username: username), password: secret, deviceName: deviceName,
                sync: !noSync)
        }
    }

    /// Logs `session`'s profile in and saves the session; a different account than before gets a fresh replica.
    static func logIn(_ session: Session, identifier: Identifier, password: String, deviceName: String?, sync: Bool) async throws {
        try session.requireOnline("login")
        let key = try DeviceKey.loadOrCreate(at: session.store.deviceKeyURL)
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "host"
        let device = Components.Schemas.DeviceRegistration(
            name: String((deviceName ?? "appcli \(session.store.name)@\(host)").prefix(64)), platform: .cli, publicKey: key.publicJWK)
        let output = try await session.client.login(
            body: .json(
                .init(
                    idNumber: identifier.idNumber, creditCode: identifier.creditCode, username: identifier.username, password: password,
                    device: device)))
        guard case .ok(let ok) = output else { throw CLIError.from(output) }
        let tokens = try ok.body.json
        let account = AccountSummary(tokens.account)
        if let previous = session.profile.account, previous.id != account.id {
            // A replica belongs to one account (the server binds its client id): start over for the new one.
            let pending = (try? session.replica.pendingMutations().count) ?? 0
            if pending > 0 { note("note: \(pending) unsent change(s) of \(previous.name) on this profile were discarded") }
            try session.discardReplica()
        }
        // The profile's previous session (this account's or another's) ends: one profile is one device. Best effort —
        // its tokens may be dead already.
        if session.profile.refreshToken != nil && !session.isOffline { _ = try? await session.client.logout() }
        session.connection.adopt(tokens)
        let serverURL = session.serverURL.absoluteString
        try session.updateProfile { profile in
            profile.server = serverURL
            profile.account = account
            profile.deviceId = tokens.deviceId
            profile.accessToken = tokens.accessToken
            profile.refreshToken = tokens.refreshToken
            profile.accessTokenExpiresAt = session.connection.tokens.tokens?.expiresAt
        }
        var synced: SyncReport?
        if sync {
            do {
                synced = try await session.sync()
            } catch {
                note("warning: logged in, but the first sync failed: \(CLIError.wrap(error)?.message ?? "\(error)")")
            }
        }
        if session.global.json {
            return try printJSON(WhoamiView(session: session, account: account, verified: true))
        }
        print("logged in as \(account.name) (\(account.kind), \(account.id)) on device \(tokens.deviceId) — profile '\(session.store.name)'")
        if let synced { print("synced: \(synced.entities) changes") }
    }
}

/// `appcli logout`: revokes this device's session on the server and forgets it (and the replica) locally.
struct LogoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logout", abstract: "Log this profile out and clear its replica.")

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Log out even though changes are still waiting in the outbox (they are lost).") var discardPending = false

    func run() async throws {
        try await withSession(global) { session in
            _ = try session.requireAccount()
            let pending = try session.replica.pendingMutations().count
            if pending > 0 && !discardPending {
                throw CLIError.usage("\(pending) change(s) have not reached the server yet; run `appcli sync` first, or pass --discard-pending")
            }
            if session.isOffline {
                note(
                    "note: offline, so the server was not told; revoke this device from another one with `appcli devices revoke \(session.profile.deviceId ?? "ID")`"
                )
            } else {
                let output = try await session.client.logout()
                switch output {
                case .noContent: break
                case .unauthorized: break  // the session had already ended: nothing left to revoke
                default: throw CLIError.from(output)
                }
            }
            try session.updateProfile { $0.clearSession() }
            try session.discardReplica()
            if global.json { return try printJSON(["loggedOut": session.store.name]) }
            print("logged out of profile '\(session.store.name)'")
        }
    }
}

/// `appcli whoami`: the account of this profile (checked with the server when online).
struct WhoamiCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "whoami", abstract: "Show the account this profile is logged in as.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await withSession(global) { session in
            var account = try session.requireAccount()
            var verified = false
            if !session.isOffline {
                let output = try await session.client.getMe()
                guard case .ok(let ok) = output else { throw CLIError.from(output) }
                account = AccountSummary(try ok.body.json)
                verified = true
            }
            let view = WhoamiView(session: session, account: account, verified: verified)
            if global.json { return try printJSON(view) }
            var table = Table(["", ""])
            table.append(["账户", "\(account.name)（\(account.kind)）"])
            table.append(["账户 ID", account.id])
            if let id = account.idNumberMasked { table.append(["身份证号", id]) }
            if let code = account.creditCode { table.append(["信用代码", code]) }
            if let username = account.username { table.append(["用户名", username]) }
            if let phone = account.phoneMasked { table.append(["手机", phone]) }
            if let department = account.departmentId { table.append(["部门", department]) }
            table.append(["设备", view.deviceId ?? "—"])
            table.append(["设备公钥", view.deviceKeyThumbprint ?? "—"])
            table.append(["服务器", view.server + (verified ? "" : "（离线，未核验）")])
            table.append(["配置", view.profile + (session.isOffline ? "（离线模式）" : "")])
            print(table.render().split(separator: "\n").dropFirst().joined(separator: "\n"))
        }
    }
}

/// What `whoami --json` (and `login --json`) print.
struct WhoamiView: Encodable {
    var profile: String
    var server: String
    var offline: Bool
    var verified: Bool
    var deviceId: String?
    var deviceKeyThumbprint: String?
    var account: AccountSummary

    init(session: Session, account: AccountSummary, verified: Bool) {
        profile = session.store.name
        server = session.serverURL.absoluteString
        offline = session.isOffline
        self.verified = verified
        deviceId = session.profile.deviceId
        deviceKeyThumbprint =
            FileManager.default.fileExists(atPath: session.store.deviceKeyURL.path)
            ? (try? DeviceKey.loadOrCreate(at: session.store.deviceKeyURL).thumbprint) : nil
        self.account = account
    }
}

/// `appcli devices [revoke ID]`: the devices the account is logged in on.
struct DevicesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices", abstract: "List this account's devices, or revoke one.", subcommands: [List.self, Revoke.self],
        defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the devices (the current one is marked *).")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            try await withSession(global) { session in
                _ = try session.requireAccount()
                try session.requireOnline("devices")
                let output = try await session.client.listMyDevices()
                guard case .ok(let ok) = output else { throw CLIError.from(output) }
                let devices = try ok.body.json.items
                if global.json { return try printJSON(devices) }
                var table = Table(["", "设备 ID", "名称", "平台", "登录时间", "状态"])
                for device in devices {
                    table.append([
                        device.current ? "*" : "", device.id, device.name, device.platform.rawValue,
                        ChinaTime.minute(Int64(device.createdAt.timeIntervalSince1970 * 1000)), device.revoked ? "已注销" : "有效",
                    ])
                }
                print(table.render())
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a device (a lost phone): its tokens stop working.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Device id from `appcli devices`.") var id: String

        func run() async throws {
            try await withSession(global) { session in
                _ = try session.requireAccount()
                try session.requireOnline("devices revoke")
                let output = try await session.client.revokeMyDevice(path: .init(id: id))
                guard case .noContent = output else { throw CLIError.from(output) }
                if global.json { return try printJSON(["revoked": id]) }
                print("revoked device \(id)")
            }
        }
    }
}

/// `--password` is visible to every local user in the process list (`ps`), so the help steers away from it.
let passwordHelp = ArgumentHelp(
    "Discouraged: visible to other local users in the process list. Prefer APPCLI_PASSWORD, the prompt, or a line on stdin.",
    valueName: "password")

/// The password from the option, `APPCLI_PASSWORD`, the terminal (not echoed) or a line of stdin.
func readPassword(_ given: String?, confirm: Bool) throws -> String {
    if let given { return given }
    if let environment = ProcessInfo.processInfo.environment["APPCLI_PASSWORD"], !environment.isEmpty { return environment }
    if isatty(STDIN_FILENO) != 0 {
        guard let first = getpass("密码 Password: ").map({ String(cString: $0) }), !first.isEmpty else { throw CLIError.usage("no password given") }
        if confirm {
            guard let second = getpass("再次输入 Again: ").map({ String(cString: $0) }), second == first else {
                throw CLIError.usage("the two passwords differ")
            }
        }
        return first
    }
    guard let line = readLine(strippingNewline: true), !line.isEmpty else {
        throw CLIError.usage("no password: set APPCLI_PASSWORD, type it at the prompt or pipe it on stdin")
    }
    return line
}

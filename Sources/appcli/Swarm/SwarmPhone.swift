import AsyncHTTPClient
import Foundation
import SyncCore

/// One simulated device: its own login (device, refresh-token family), its own in-memory replica and sync engine —
/// exactly what `appcli --profile …` holds on disk, minus the files.
final class SwarmPhone: Sendable {
    let label: String
    let accountID: String
    /// The account's kind, as its login answered it: what the mutators check on the device.
    let role: AccountRole
    let connection: APIConnection
    let replica: Replica
    let engine: SyncEngine
    /// While true the phone does not talk to the server: its changes queue in the outbox.
    let offline = Locked(false)

    private init(label: String, accountID: String, role: AccountRole, connection: APIConnection, replica: Replica) {
        self.label = label
        self.accountID = accountID
        self.role = role
        self.connection = connection
        self.replica = replica
        // One try per request: a swarm measures the server as it is, and a phone's next action syncs again anyway.
        self.engine = SyncEngine(replica: replica, transport: .http(connection), options: SyncOptions(maxAttempts: 2, baseDelay: .milliseconds(100)))
    }

    /// Logs a device in (with a fresh P-256 device key, as `appcli login` does) and gives it an empty replica.
    static func login(
        server: URL, http: HTTPClient, identifier: LoginCommand.Identifier, password: String, label: String, stats: SwarmStats,
        operation: String = "login"
    ) async throws -> SwarmPhone {
        let connection = APIConnection(serverURL: server, http: http)
        let key = DeviceKey(privateKey: .init())
        let tokens = try await stats.measure(operation) {
            let output = try await connection.client.login(
                body: .json(
                    .init(
                        idNumber: identifier.idNumber, creditCode: identifier.creditCode, username: identifier.username, password: password,
                        device: .init(name: label, platform: .cli, publicKey: key.publicJWK))))
            guard case .ok(let ok) = output else { throw CLIError.from(output) }
            return try ok.body.json
        }
        connection.adopt(tokens)
        return SwarmPhone(
            label: label, accountID: tokens.account.id, role: tokens.account.kind, connection: connection,
            replica: try Replica(path: nil))
    }

    var isOffline: Bool { offline.value }

    /// Syncs and records it under `operation`, counting the mutations the server applied or rejected.
    @discardableResult
    func sync(_ operation: String, stats: SwarmStats) async throws -> SyncReport {
        let report = try await stats.measure(operation) { try await engine.sync() }
        stats.count {
            $0.mutationsApplied += report.applied
            $0.mutationsRejected += report.rejected
        }
        return report
    }

    /// Runs mutators on the replica, then (online) syncs under `operation`. Offline the change just queues.
    /// Returns the outbox ids, and whether the server rejected any of them.
    @discardableResult
    func change(_ operation: String, _ changes: [(name: String, args: any Encodable)], stats: SwarmStats) async throws -> (
        ids: [Int], rejected: [OutboxEntry]
    ) {
        let clock = ContinuousClock()
        let start = clock.now
        var ids: [Int] = []
        do {
            for change in changes { ids.append(try replica.mutate(change.name, args: change.args, accountID: accountID, role: role).id) }
        } catch {
            stats.fail(operation, code: SwarmStats.code(of: error))
            throw error
        }
        if isOffline {
            stats.record(operation + " (offline, local)", micros: SwarmStats.micros(clock.now - start))
            stats.count { $0.queuedOffline += ids.count }
            return (ids, [])
        }
        let report = try await stats.measure(operation) { try await engine.sync() }
        stats.count {
            $0.mutationsApplied += report.applied
            $0.mutationsRejected += report.rejected
        }
        let rejected = try replica.outbox().filter { ids.contains($0.id) && $0.status == .rejected }
        // A rejection is the server's answer to a race (a clerk moved first): counted by code, not as an error.
        for entry in rejected { stats.fail(operation + " → rejected", code: entry.code ?? "rejected") }
        if !rejected.isEmpty { try replica.dismissRejected() }
        return (ids, rejected)
    }

    /// The account's cases as this device sees them.
    func cases() throws -> [Case] { try replica.entities(Case.self, in: .user(accountID)) }
}

/// A simulated citizen: one account with one or two devices.
struct SwarmCitizen: Sendable {
    var idNumber: String
    var password: String
    var devices: [SwarmPhone]

    /// Registers a new citizen (a fresh synthetic resident ID; retried on the rare collision) and logs `devices` in.
    static func register(index: Int, devices: Int, server: URL, http: HTTPClient, stats: SwarmStats) async throws -> SwarmCitizen {
        let connection = APIConnection(serverURL: server, http: http)
        let surnames = Array("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗")
        let givenNames = ["建国", "晓燕", "浩", "雨桐", "志明", "丽", "伟", "静", "磊", "婷", "强", "敏", "洋", "芳"]
        var attempt = 0
        while true {
            attempt += 1
            let idNumber = SyntheticIdentity.residentID()
            let password = "Swarm2026" + String(idNumber.suffix(6).reversed())
            let phone = "1" + ["3", "5", "8"].randomElement()! + String(format: "%09d", Int.random(in: 0..<1_000_000_000))
            let name = String(surnames[index % surnames.count]) + givenNames[(index / surnames.count) % givenNames.count]
            try await stats.measure("register") {
                let output = try await connection.client.register(
                    body: .json(.init(kind: .citizen, idNumber: idNumber, name: name, phone: phone, password: password)))
                guard case .accepted = output else { throw CLIError.from(output) }
            }
            var phones: [SwarmPhone] = []
            do {
                for device in 0..<devices {
                    phones.append(
                        try await SwarmPhone.login(
                            server: server, http: http, identifier: .init(idNumber: idNumber), password: password,
                            label: "swarm-\(index)" + (devices > 1 ? "-\(device == 0 ? "phone" : "tablet")" : ""), stats: stats))
                }
            } catch CLIError.problem(let problem) where problem.code == "invalid_credentials" && phones.isEmpty && attempt < 5 {
                // Registration answers a taken identifier like a free one: a synthetic ID that was taken shows here.
                continue
            }
            return SwarmCitizen(idNumber: idNumber, password: password, devices: phones)
        }
    }
}

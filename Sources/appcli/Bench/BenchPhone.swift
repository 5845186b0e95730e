import AsyncHTTPClient
import Foundation
import OneTripAPI
import OpenAPIRuntime
import SyncCore
import Synchronization

/// A simulated phone for load tests: a freshly registered citizen with one device, one sync client id and a
/// counter of mutation ids.
final class BenchPhone: Sendable {
    let connection: APIConnection
    let clientID: String
    let accountID: String
    private let nextMutation = Mutex(1)

    private init(connection: APIConnection, clientID: String, accountID: String) {
        self.connection = connection
        self.clientID = clientID
        self.accountID = accountID
    }

    static func register(server: URL, http: HTTPClient, label: String) async throws -> BenchPhone {
        let connection = APIConnection(serverURL: server, http: http)
        let idNumber = SyntheticIdentity.residentID()
        let password = "Bench2026" + String(idNumber.suffix(6))
        let phone = "13" + String(format: "%09d", Int.random(in: 0..<1_000_000_000))
        let registered = try await connection.client.register(
            body: .json(.init(kind: .citizen, idNumber: idNumber, name: "压测用户", phone: phone, password: password)))
        guard case .accepted = registered else { throw CLIError.unexpected(0) }
        let login = try await connection.client.login(
            body: .json(.init(idNumber: idNumber, password: password, device: .init(name: label, platform: .cli))))
        guard case .ok(let ok) = login else { throw CLIError.unexpected(0) }
        let tokens = try ok.body.json
        connection.bearer.current = tokens.accessToken
        let clientID = (label + "-" + UUID().uuidString.prefix(8)).replacingOccurrences(of: ".", with: "-")
        return BenchPhone(connection: connection, clientID: clientID, accountID: tokens.account.id)
    }

    func pull(cursors: [String: Int]?, limit: Int) async throws -> Components.Schemas.PullResponse {
        let output = try await connection.client.syncPull(
            body: .json(.init(clientId: clientID, cursors: cursors.map { .init(additionalProperties: $0) }, limit: limit)))
        switch output {
        case .ok(let ok): return try ok.body.json
        case .forbidden(let p): throw CLIError.problem(try p.body.applicationProblemJson)
        case .badRequest(let p): throw CLIError.problem(try p.body.applicationProblemJson)
        case .unauthorized(let p): throw CLIError.problem(try p.body.applicationProblemJson)
        case .conflict(let p): throw CLIError.problem(try p.body.applicationProblemJson)
        case .undocumented(let status, _): throw CLIError.unexpected(status)
        }
    }

    /// Pulls until up to date; returns the cursors.
    func catchUp() async throws -> [String: Int] {
        var cursors: [String: Int]?
        while true {
            let page = try await pull(cursors: cursors, limit: 2000)
            cursors = page.cursors.additionalProperties
            if !page.hasMore { return cursors ?? [:] }
        }
    }

    /// Pushes `count` profile edits; returns how many were applied.
    func pushEdits(count: Int, iteration: Int) async throws -> Int {
        let first = nextMutation.withLock { id in
            defer { id += count }
            return id
        }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let mutations = try (0..<count).map { offset in
            let args = try OpenAPIObjectContainer(unvalidatedValue: ["changes": ["nickname": "第\(iteration)轮\(offset)"]])
            return Components.Schemas.PushMutation(
                id: first + offset, name: "profile.update", args: args, hlc: HLC(physical: now, logical: Int32(offset), node: clientID).description)
        }
        let output = try await connection.client.syncPush(body: .json(.init(clientId: clientID, mutations: mutations)))
        guard case .ok(let ok) = output else { throw CLIError.unexpected(0) }
        let results = try ok.body.json.results
        return results.filter { $0.status == .applied }.count
    }
}

/// Valid-looking identities for simulated users (GB 11643 check characters computed, Hangzhou area codes).
enum SyntheticIdentity {
    static func residentID() -> String {
        let areas = ["330102", "330105", "330106", "330108", "330109", "330110"]
        let year = Int.random(in: 1950...2005)
        let month = Int.random(in: 1...12)
        let day = Int.random(in: 1...28)
        let body = areas.randomElement()! + String(format: "%04d%02d%02d%03d", year, month, day, Int.random(in: 0...999))
        return body + String(ResidentIDNumber.checkCharacter(for: body.map { Int(String($0))! }))
    }
}

import Foundation
import SyncCore

/// The end-of-run check that every phone holds exactly what the server holds for its account.
///
/// After the clerks have stopped, every device syncs twice (all first rounds before any second one); then, for its
/// `user:` scope:
/// 1. its outbox must be empty of unconfirmed changes (every queued mutation reached the server and was answered);
/// 2. a brand-new replica (new client id, same device session) pulls the scope from zero, and the profile, every
///    message and every case the device shows must equal what that fresh pull shows, field by field — a re-download
///    from the server's change log, independent of everything the device did on the way;
/// 3. the cases must also match `GET /v1/cases` (the server's case index, a second read path) in ids and states.
/// Two devices of one citizen are each compared with the server, so they also equal each other.
enum SwarmConvergence {
    /// One device's verdict.
    struct DeviceResult: Encodable, Sendable {
        var device: String
        var accountId: String
        var cases: Int
        var messages: Int
        var problems: [String]
        var converged: Bool { problems.isEmpty }

        enum CodingKeys: String, CodingKey { case device, accountId, cases, messages, problems }
    }

    static func check(_ devices: [SwarmPhone], stats: SwarmStats, concurrency: Int = 16) async -> [DeviceResult] {
        // Two rounds of final syncs before any comparison: in the first every device pushes what it queued (a device
        // that was offline may still hold edits of a case its twin device shows); in the second each pulls what the
        // others pushed after its own first sync. Comparing right after a device's own sync would race its twin's.
        for device in devices { device.offline.withLock { $0 = false } }
        var failed = Set<String>()
        for _ in 0..<2 {
            failed.formUnion(
                await forEach(devices, concurrency: concurrency) { device in await finalSync(device, stats: stats) ? nil : device.label })
        }
        let unsynced = failed
        return await forEach(devices, concurrency: concurrency) { device in
            await check(device, synced: !unsynced.contains(device.label), stats: stats)
        }.sorted { $0.device < $1.device }
    }

    /// Runs `body` for every device, at most `concurrency` at once; collects the non-nil answers.
    private static func forEach<T: Sendable>(_ devices: [SwarmPhone], concurrency: Int, _ body: @escaping @Sendable (SwarmPhone) async -> T?) async
        -> [T]
    {
        await withTaskGroup(of: T?.self) { group in
            var results: [T] = []
            var next = 0
            func start() {
                guard next < devices.count else { return }
                let device = devices[next]
                next += 1
                group.addTask { await body(device) }
            }
            for _ in 0..<min(concurrency, devices.count) { start() }
            for await result in group {
                if let result { results.append(result) }
                start()
            }
            return results
        }
    }

    /// One final sync, tried up to three times; whether it succeeded.
    private static func finalSync(_ device: SwarmPhone, stats: SwarmStats) async -> Bool {
        for _ in 0..<3 where (try? await device.sync("final sync", stats: stats)) != nil { return true }
        return false
    }

    private static func check(_ device: SwarmPhone, synced: Bool, stats: SwarmStats) async -> DeviceResult {
        var result = DeviceResult(device: device.label, accountId: device.accountID, cases: 0, messages: 0, problems: [])
        guard synced else {
            result.problems.append("the final sync failed three times")
            return result
        }
        do {
            let unconfirmed = try device.replica.pendingMutations()
            if !unconfirmed.isEmpty {
                result.problems.append("\(unconfirmed.count) change(s) never confirmed by the server: \(unconfirmed.map(\.name))")
            }

            let scope = Scope.user(device.accountID)
            let fresh = try await stats.measure("convergence pull") { try await download(scope, like: device) }
            compare(Profile.self, device.replica, fresh, scope, into: &result.problems)
            compare(Message.self, device.replica, fresh, scope, into: &result.problems)
            compare(Case.self, device.replica, fresh, scope, into: &result.problems)
            let cases = try device.replica.entities(Case.self, in: scope)
            result.cases = cases.count
            result.messages = try device.replica.entities(Message.self, in: scope).count

            if cases.count <= 200 {
                let remote = try await stats.measure("cases (REST check)") {
                    let output = try await device.connection.client.listMyCases(query: .init(limit: 200))
                    guard case .ok(let ok) = output else { throw CLIError.from(output) }
                    return try ok.body.json.items
                }
                let server = Dictionary(uniqueKeysWithValues: remote.map { ($0.id, $0.state.rawValue) })
                let local = Dictionary(uniqueKeysWithValues: cases.map { ($0.id, $0.state.rawValue) })
                if server != local {
                    let differing = Set(server.keys).union(local.keys).filter { server[$0] != local[$0] }.sorted().prefix(3)
                    result.problems.append(
                        "GET /v1/cases differs: "
                            + differing.map { "\($0) server=\(server[$0] ?? "absent") device=\(local[$0] ?? "absent")" }.joined(separator: "; "))
                }
            }
        } catch {
            result.problems.append("the check itself failed: \(CLIError.wrap(error)?.message ?? "\(error)")")
        }
        return result
    }

    /// Pulls `scope` from zero into a new in-memory replica over the device's own session (catalog cursor kept, so
    /// only the account's scope travels).
    private static func download(_ scope: Scope, like device: SwarmPhone) async throws -> Replica {
        let fresh = try Replica(path: nil)
        let transport = SyncTransport.http(device.connection)
        var cursors: [Scope: Int] = [scope: 0]
        // Epochs are per client id: the device's own would mean nothing for this one, so only resets answered here count.
        var epochs: [Scope: String] = [:]
        if let catalog = try device.replica.cursors()[.public] { cursors[.public] = catalog }
        while true {
            let page = try await transport.pull(PullRequest(clientID: fresh.clientID, cursors: cursors, epochs: epochs, limit: 1000))
            try fresh.apply(page)
            cursors.merge(page.cursors) { _, new in new }
            epochs.merge(page.resetEpochs) { _, new in new }
            if !page.hasMore { return fresh }
        }
    }

    private static func compare<E: SyncEntity>(_ type: E.Type, _ device: Replica, _ fresh: Replica, _ scope: Scope, into problems: inout [String]) {
        do {
            let mine = Dictionary(uniqueKeysWithValues: try device.entities(E.self, in: scope).map { ($0.id, $0) })
            let theirs = Dictionary(uniqueKeysWithValues: try fresh.entities(E.self, in: scope).map { ($0.id, $0) })
            let ids = Set(mine.keys).union(theirs.keys).filter { mine[$0] != theirs[$0] }.sorted()
            guard !ids.isEmpty else { return }
            let shown = ids.prefix(3).map { id in
                mine[id] == nil ? "\(id) missing on the device" : theirs[id] == nil ? "\(id) not on the server" : "\(id) differs"
            }
            problems.append("\(E.entityType.rawValue): \(ids.count) differ (\(shown.joined(separator: ", ")))")
        } catch {
            problems.append("\(E.entityType.rawValue): cannot compare (\(error))")
        }
    }
}

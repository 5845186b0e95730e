import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SQLKit
import SyncCore
import Synchronization
import Testing

@testable import AppAPI

@Suite struct SyncPullTests {
    @Test(arguments: TestEngine.enabled)
    func aFreshPhoneGetsTheCatalogItsProfileAndAWelcomeInPages(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let session = try await client.loginCitizen()
            let (changes, cursors, last) = try await client.pullAll(session.accessToken, clientID: "phone-0001", limit: 50)
            let seeds = try SeedFiles.load(from: repositoryRoot.appendingPathComponent("seeds"))
            #expect(changes.filter { $0._type == .matter }.count == seeds.catalog.matters.count)
            #expect(changes.filter { $0._type == .faq }.count == seeds.catalog.faq.count)
            let user = "user:\(session.account.id)"
            let profile = try #require(changes.first { $0._type == .profile })
            #expect(profile.scope == user && profile.id == session.account.id)
            #expect(try profile.entity(Profile.self).kind == "citizen")
            #expect(changes.contains { $0._type == .message && $0.scope == user })
            #expect(Set(cursors.keys) == ["public", user])
            #expect(last.lastMutationId == 0 && HLC(last.serverHlc) != nil)
            // Sequence numbers within each scope arrive in order without gaps.
            for scope in cursors.keys {
                let seqs = changes.filter { $0.scope == scope }.map(\.seq)
                #expect(seqs == Array(1...(seqs.count)), "\(scope) has gaps")
            }
            // Up to date: nothing more to pull.
            let again = try await client.pull(session.accessToken, clientID: "phone-0001", cursors: cursors).json(PullResponse.self)
            #expect(again.changes.isEmpty && !again.hasMore && again.cursors.additionalProperties == cursors)
        }
    }

    @Test(arguments: TestEngine.enabled)
    func scopesAreAuthorized(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let alice = try await client.loginCitizen()
            let bob = try await client.loginCitizen(Demo.citizen2)
            let forbidden = try await client.pull(alice.accessToken, clientID: "phone-0001", cursors: ["user:\(bob.account.id)": 0])
            #expect(forbidden.status == .forbidden)
            #expect(try forbidden.problem().code == "scope_forbidden")
            #expect(try await client.pull(alice.accessToken, clientID: "phone-0001", cursors: ["dept:hz-market-supervision": 0]).status == .forbidden)
            #expect(try await client.pull(alice.accessToken, clientID: "phone-0001", cursors: ["nonsense": 0]).status == .badRequest)
            #expect(try await client.pull(alice.accessToken, clientID: "x").status == .badRequest)
            #expect(try await client.post("/v1/sync/pull", json: ["clientId": "phone-0001"]).status == .unauthorized)
            // A kiosk reads public and its own centre only.
            let kiosk = try await client.loginStaff(Demo.kiosk)
            let kioskPage = try await client.pull(kiosk.accessToken, clientID: "kiosk-0001").json(PullResponse.self)
            #expect(Set(kioskPage.cursors.additionalProperties.keys) == ["public", "kiosk:sc-city"])
            // A clientId stays with the account that first used it.
            _ = try await client.push(alice.accessToken, clientID: "shared-client", mutations: [])
            #expect(try await client.push(bob.accessToken, clientID: "shared-client", mutations: []).status == .forbidden)
        }
    }
}

@Suite struct SyncPushTests {
    @Test(arguments: TestEngine.enabled)
    func mutationsApplyExactlyOnceAndRejectionsDoNotBlock(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let session = try await client.loginCitizen()
            let token = session.accessToken
            let first = try await client.push(
                token, clientID: "phone-0001",
                mutations: [
                    mutation(1, "profile.update", ["changes": ["nickname": "老王", "address": "杭州市上城区解放东路18号"]]),
                    mutation(2, "profile.update", ["changes": ["name": "改名"]]),
                    mutation(3, "message.markRead", ["messageId": "no-such-message"]),
                    mutation(4, "no.such.mutator", [:]),
                    mutation(5, "profile.update", ["changes": ["email": "wang@example.cn"]]),
                ]
            ).json(PushResponse.self)
            #expect(first.lastMutationId == 5)
            #expect(first.results.map(\.status) == [.applied, .rejected, .rejected, .rejected, .applied])
            #expect(first.results.map(\.code) == [nil, "server_owned_field", "not_found", "unknown_mutator", nil])
            // A retry gets the original verdicts and changes nothing (S23); the same id with other content is refused,
            // never acknowledged as a duplicate (S10); a gap is refused.
            let retry = try await client.push(
                token, clientID: "phone-0001",
                mutations: [
                    mutation(1, "profile.update", ["changes": ["nickname": "老王", "address": "杭州市上城区解放东路18号"]]),
                    mutation(4, "no.such.mutator", [:]), mutation(5, "profile.update", ["changes": ["email": "other@example.cn"]]),
                    mutation(7, "profile.update", ["changes": ["nickname": "跳号"]]),
                ]
            ).json(PushResponse.self)
            #expect(retry.results.map(\.status) == [.applied, .rejected, .rejected, .rejected])
            #expect(retry.results.map(\.code) == [nil, "unknown_mutator", "mutation_id_reused", "out_of_order"] && retry.lastMutationId == 5)

            let (changes, _, last) = try await client.pullAll(token, clientID: "phone-0001", cursors: ["user:\(session.account.id)": 0])
            #expect(last.lastMutationId == 5)
            let profile = try #require(changes.last { $0._type == .profile }).entity(Profile.self)
            #expect(profile.nickname == "老王" && profile.email == "wang@example.cn" && profile.address?.hasPrefix("杭州市") == true)
            #expect(profile.name == session.account.name, "server-owned fields never change from a device")
        }
    }

    @Test(arguments: TestEngine.enabled)
    func lastWriterWinsPerFieldAcrossDevices(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let phone = try await client.loginCitizen(device: "手机")
            let tablet = try await client.loginCitizen(device: "平板")
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            // The tablet edited the nickname later (by HLC) but pushes first; the phone's older edit arrives after.
            _ = try await client.push(
                tablet.accessToken, clientID: "tablet-001",
                mutations: [
                    mutation(1, "profile.update", ["changes": ["nickname": "平板改的"]], hlc: HLC(physical: now - 1000, node: "tablet-001"))
                ])
            _ = try await client.push(
                phone.accessToken, clientID: "phone-0001",
                mutations: [
                    mutation(
                        1, "profile.update", ["changes": ["nickname": "手机改的", "email": "phone@example.cn"]],
                        hlc: HLC(physical: now - 5000, node: "phone-0001"))
                ])
            let (changes, _, _) = try await client.pullAll(phone.accessToken, clientID: "phone-0001", cursors: ["user:\(phone.account.id)": 0])
            let profile = try #require(changes.last { $0._type == .profile }).entity(Profile.self)
            #expect(profile.nickname == "平板改的", "the later edit wins whatever order the pushes arrive in")
            #expect(profile.email == "phone@example.cn", "edits of different fields both survive")
        }
    }

    @Test(arguments: TestEngine.enabled)
    func aDeviceClockDaysAheadCannotWinFutureEdits(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let fast = try await client.loginCitizen(device: "时钟快一天的手机")
            let normal = try await client.loginCitizen(device: "正常手机")
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            _ = try await client.push(
                fast.accessToken, clientID: "fast-0001",
                mutations: [
                    mutation(1, "profile.update", ["changes": ["nickname": "未来"]], hlc: HLC(physical: now + 24 * 3600 * 1000, node: "fast-0001"))
                ])
            try await Task.sleep(for: .milliseconds(5))
            _ = try await client.push(
                normal.accessToken, clientID: "normal-001",
                mutations: [
                    mutation(
                        1, "profile.update", ["changes": ["nickname": "现在"]],
                        hlc: HLC(physical: Int64(Date().timeIntervalSince1970 * 1000) + 61_000, node: "normal-001"))
                ])
            let (changes, _, _) = try await client.pullAll(normal.accessToken, clientID: "normal-001", cursors: ["user:\(normal.account.id)": 0])
            #expect(try #require(changes.last { $0._type == .profile }).entity(Profile.self).nickname == "现在")
        }
    }
}

@Suite struct SyncOrderingTests {
    /// A transaction that took a lower sequence number and commits last must not let a reader see the higher one
    /// first: the per-scope row lock makes the second writer wait (Postgres), or the single writer does (SQLite).
    @Test(arguments: TestEngine.enabled)
    func aSlowLowerSequenceCommitIsNeverSkipped(engine: TestEngine) async throws {
        try await withMigratedDatabase(engine) { database in
            let release = AsyncSignal()
            let firstTookSeq = AsyncSignal()
            let slow = Task {
                try await database.transaction { db in
                    try await ChangeLog.append([ChangeRecord(scope: .public, type: .faq, id: "slow", op: .upsert, data: "{}")], on: db)
                    firstTookSeq.fire()
                    await release.wait()
                }
            }
            await firstTookSeq.wait()
            let fast = Task {
                try await database.transaction { db in
                    try await ChangeLog.append([ChangeRecord(scope: .public, type: .faq, id: "fast", op: .upsert, data: "{}")], on: db)
                }
            }
            // While the slow writer holds seq 1, readers must see nothing rather than seq 2.
            for _ in 0..<20 {
                let seqs = try await database.read { db in
                    try await db.raw("SELECT seq FROM changes WHERE scope = 'public' ORDER BY seq").all().map {
                        try $0.decode(column: "seq", as: Int.self)
                    }
                }
                #expect(seqs.isEmpty, "a reader saw \(seqs) before seq 1 committed")
                try await Task.sleep(for: .milliseconds(10))
            }
            release.fire()
            try await slow.value
            _ = try await fast.value
            let seqs = try await database.read { db in
                try await db.raw("SELECT entity_id, seq FROM changes WHERE scope = 'public' ORDER BY seq").all().map {
                    try $0.decode(column: "entity_id", as: String.self)
                }
            }
            #expect(seqs == ["slow", "fast"])
        }
    }

    @Test(arguments: TestEngine.enabled)
    func cursorsBehindTheTombstoneHorizonAreReset(engine: TestEngine) async throws {
        try await withTestAppDatabase(engine) { client, database in
            let session = try await client.loginCitizen()
            let (_, cursors, _) = try await client.pullAll(session.accessToken, clientID: "phone-0001")
            // A matter is withdrawn from the catalog; its tombstone is later compacted away.
            try await database.transaction { db in
                try await ChangeLog.append([ChangeRecord(scope: .public, type: .matter, id: "330100-RE-0001", op: .delete, data: nil)], on: db)
            }
            // A phone that was current still sees the tombstone…
            let current = try await client.pull(session.accessToken, clientID: "phone-0001", cursors: cursors).json(PullResponse.self)
            #expect(current.changes.map(\.op) == [.delete] && current.reset.isEmpty)
            let later = Runtime.manual(ManualClock(Clock.nowMillis() + 1000))
            #expect(try await TombstoneCompactor(database: database, headCache: HeadCache(enabled: false), runtime: later).purge(horizon: .zero) == 1)
            // …one that was behind it is told to start the scope over.
            var stale = cursors
            stale["public"] = 3
            let reset = try await client.pull(session.accessToken, clientID: "phone-0001", cursors: stale, limit: 10).json(PullResponse.self)
            #expect(reset.reset == ["public"])
            #expect(reset.changes.first?.seq ?? 0 <= 10 && reset.hasMore)
            // Up-to-date cursors are unaffected.
            let fine = try await client.pull(session.accessToken, clientID: "phone-0001", cursors: current.cursors.additionalProperties).json(
                PullResponse.self)
            #expect(fine.reset.isEmpty && fine.changes.isEmpty)
        }
    }

    @Test(arguments: TestEngine.enabled)
    func commitsPokeSubscribersOfTheirScopeOnly(engine: TestEngine) async throws {
        try await withMigratedDatabase(engine) { database in
            let notifier = ChangeNotifier(heads: HeadCache(enabled: false))
            database.addCommitObserver(notifier)
            let pokes = try #require(notifier.subscribe(to: [.public], accountID: "acc_watcher"))
            try await database.transaction { db in
                try await ChangeLog.append([ChangeRecord(scope: .user("someone"), type: .message, id: "m", op: .upsert, data: "{}")], on: db)
            }
            try await database.transaction { db in
                try await ChangeLog.append([ChangeRecord(scope: .public, type: .faq, id: "f", op: .upsert, data: "{}")], on: db)
            }
            var iterator = pokes.makeAsyncIterator()
            let first = await iterator.next()
            #expect(first == ChangeNotifier.ScopeHead(scope: .public, seq: 1))
        }
    }

    @Test func eventStreamsSayPokeAndKeepAlive() async throws {
        let notifier = ChangeNotifier(heads: HeadCache(enabled: false))
        let stream = ServerSentEvents.stream(
            pokes: try #require(notifier.subscribe(to: [.public], accountID: "acc_watcher")), initial: [(.public, 7)], heartbeat: .milliseconds(20))
        var iterator = stream.makeAsyncIterator()
        #expect(String(decoding: await iterator.next()!, as: UTF8.self) == "event: poke\ndata: {\"scope\":\"public\",\"seq\":7}\n\n")
        notifier.publish([.public: 8, .user("x"): 3])
        #expect(String(decoding: await iterator.next()!, as: UTF8.self).contains("\"seq\":8"))
        #expect(String(decoding: await iterator.next()!, as: UTF8.self) == ": heartbeat\n\n")
    }
}

/// A one-shot signal for choreographing concurrent tasks in tests.
final class AsyncSignal: Sendable {
    private let state = Mutex<(fired: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func fire() {
        let waiters = state.withLock { state in
            state.fired = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            let fired = state.withLock { state in
                if !state.fired { state.waiters.append(continuation) }
                return state.fired
            }
            if fired { continuation.resume() }
        }
    }
}

import Foundation
import SyncCore
import Testing

/// Random interleavings of offline edits, syncs over a flaky network and server-side writes: once everyone has
/// synced, every replica shows exactly the server's state, and the server applied each mutation exactly once.
@Suite struct SyncEnginePropertyTests {
    let account = SyncFixtures.account

    @Test(arguments: 1...10)
    func threeDevicesConvergeOnTheServersState(seed: Int) async throws {
        var rng = SeededGenerator(seed: UInt64(seed))
        let clock = ManualWallClock()
        let server = SyncFixtures.server(clock: clock, messages: 4)
        server.makeFlaky(rate: 0.15, seed: UInt64(seed))
        let devices = try (0..<3).map { _ in
            SyncEngine(
                replica: try Replica(path: nil, wallClock: clock.read), transport: server.transport(accountID: account),
                options: SyncFixtures.options(pageLimit: 3)
            )
        }
        var online = [true, true, true]
        var madeIDs: [[Int]] = [[], [], []]
        var messageCount = 4

        for _ in 0..<150 {
            // Zero advances make equal wall-clock times: the HLC's logical counter and node must still order edits.
            clock.advance(by: Int64.random(in: 0...800, using: &rng))
            let index = Int.random(in: 0..<3, using: &rng)
            let replica = devices[index].replica
            switch Int.random(in: 0..<100, using: &rng) {
            case 0..<30:
                if let id = try? replica.mutate(ProfileUpdate.self, .init(changes: randomChanges(&rng)), accountID: account).id {
                    madeIDs[index].append(id)
                }
            case 30..<45:
                let visible = try replica.messages().map(\.id)
                // Mostly a message this device sees; sometimes any id, deleted or never created.
                let anyID = "m\(Int.random(in: 0..<messageCount + 2, using: &rng))"
                let target = Bool.random(using: &rng) ? visible.randomElement(using: &rng) ?? anyID : anyID
                if let id = try? replica.mutate(MessageMarkRead.self, .init(messageId: target), accountID: account).id {
                    madeIDs[index].append(id)
                }
            case 45..<55:
                online[index].toggle()
            case 55..<78:
                if online[index] { _ = try? await devices[index].sync() }
            case 78..<86:
                server.put(SyncFixtures.message("m\(messageCount)", at: clock.now), in: .user(account))
                messageCount += 1
            case 86..<92:
                server.delete(EntityKey(.message, "m\(Int.random(in: 0..<messageCount, using: &rng))"))
            case 92..<96:
                let name = "张\(Int.random(in: 0..<100, using: &rng))"
                server.modify(Profile.self, id: account) { $0.name = name }
            default:
                server.purgeTombstones(in: .user(account))
            }
        }

        server.makeFlaky(rate: 0, seed: 0)
        for _ in 0..<2 {
            for device in devices { try await device.sync() }
        }

        let profiles = server.entities(Profile.self, in: .user(account))
        let messages = server.entities(Message.self, in: .user(account))
        for (index, device) in devices.enumerated() {
            let replica = device.replica
            #expect(try replica.entities(Profile.self, in: .user(account)) == profiles, "seed \(seed), device \(index)")
            #expect(try replica.entities(Message.self, in: .user(account)) == messages, "seed \(seed), device \(index)")
            #expect(try replica.pendingMutations().isEmpty)
            #expect(try replica.outbox().allSatisfy { $0.status == .rejected && $0.acknowledged })
            #expect(madeIDs[index] == Array(1..<(madeIDs[index].count + 1)))
            #expect(server.processed(by: replica.clientID) == Dictionary(uniqueKeysWithValues: madeIDs[index].map { ($0, 1) }))
        }
    }

    private func randomChanges(_ rng: inout SeededGenerator) -> ProfileUpdate.ProfileChanges {
        var changes = ProfileUpdate.ProfileChanges()
        let tag = Int.random(in: 0..<1000, using: &rng)
        if Bool.random(using: &rng) { changes.nickname = "n\(tag)" }
        if Bool.random(using: &rng) { changes.address = "西湖区 \(tag) 号" }
        if Int.random(in: 0..<4, using: &rng) == 0 { changes.language = Bool.random(using: &rng) ? "en" : "zh-CN" }
        if Int.random(in: 0..<4, using: &rng) == 0 { changes.notifySMS = Bool.random(using: &rng) }
        // Now and then an invalid e-mail: refused on the device, never queued.
        if Int.random(in: 0..<5, using: &rng) == 0 { changes.email = Bool.random(using: &rng) ? "u\(tag)@example.cn" : "nope" }
        return changes
    }
}

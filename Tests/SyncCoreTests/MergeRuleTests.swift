import Foundation
import SyncCore
import Testing

/// Golden vectors for the merge rules and the hybrid logical clock: fixed inputs, the one right answer.
@Suite struct MergeRuleGoldenTests {
    static let a = "client-a"
    static let b = "client-b"

    /// (edits in arrival order) → the value every replica must hold.
    static let vectors: [(name: String, edits: [(value: String, hlc: HLC)], expected: String)] = [
        ("later physical time wins", [("旧", HLC(physical: 1000, node: a)), ("新", HLC(physical: 2000, node: b))], "新"),
        ("later edit arriving first still wins", [("新", HLC(physical: 2000, node: b)), ("旧", HLC(physical: 1000, node: a))], "新"),
        (
            "same millisecond: higher logical counter wins",
            [("一", HLC(physical: 1000, logical: 2, node: a)), ("二", HLC(physical: 1000, logical: 1, node: b))], "一"
        ),
        (
            "full tie on time: higher client id wins",
            [("乙", HLC(physical: 1000, logical: 0, node: b)), ("甲", HLC(physical: 1000, logical: 0, node: a))], "乙"
        ),
        (
            "a replayed edit changes nothing",
            [("x", HLC(physical: 5, node: a)), ("y", HLC(physical: 6, node: b)), ("x", HLC(physical: 5, node: a))], "y"
        ),
    ]

    @Test(arguments: 0..<vectors.count)
    func fieldRegistersConvergeToTheGoldenValue(index: Int) {
        let vector = Self.vectors[index]
        // Every arrival order gives the golden value.
        for order in permutations(Array(vector.edits.indices)) {
            var clocks = FieldClocks()
            var value = ""
            for i in order { clocks.assign("nickname", vector.edits[i].value, into: &value, at: vector.edits[i].hlc) }
            #expect(value == vector.expected, "\(vector.name), order \(order)")
        }
    }

    @Test func profileUpdatesMergePerField() throws {
        let base = Profile(id: "acc", name: "王", kind: "citizen")
        func apply(_ changes: ProfileUpdate.ProfileChanges, _ hlc: HLC, to profile: Profile) throws -> Profile {
            var state = MutationState(entities: [EntityKey(.profile, "acc"): SyncJSON.encode(profile)])
            try ProfileUpdate.apply(
                .init(changes: changes), to: &state,
                context: MutationContext(accountID: "acc", role: .citizen, clientID: hlc.node, hlc: hlc, now: 0, authoritative: true))
            return try #require(try state.get(Profile.self, id: "acc"))
        }
        let phone = (ProfileUpdate.ProfileChanges(nickname: "手机", email: "a@b.cn"), HLC(physical: 100, node: Self.a))
        let tablet = (ProfileUpdate.ProfileChanges(nickname: "平板", address: "杭州"), HLC(physical: 200, node: Self.b))
        let one = try apply(tablet.0, tablet.1, to: try apply(phone.0, phone.1, to: base))
        let two = try apply(phone.0, phone.1, to: try apply(tablet.0, tablet.1, to: base))
        #expect(one == two)
        #expect(one.nickname == "平板" && one.email == "a@b.cn" && one.address == "杭州" && one.name == "王")
    }

    private func permutations(_ items: [Int]) -> [[Int]] {
        guard items.count > 1 else { return [items] }
        return items.indices.flatMap { i -> [[Int]] in
            var rest = items
            let head = rest.remove(at: i)
            return permutations(rest).map { [head] + $0 }
        }
    }
}

@Suite struct HybridLogicalClockTests {
    static let day: Int64 = 24 * 3600 * 1000
    static let serverNow: Int64 = 1_795_000_000_000

    @Test func aPhoneADayBehindOrdersItsNextEditAfterWhatItPulled() {
        var phone = HybridLogicalClock(node: "phone", wallClock: { Self.serverNow - Self.day })
        let pulled = HLC(physical: Self.serverNow, logical: 3, node: "server")
        phone.receive(pulled)
        let edit = phone.tick()
        #expect(edit > pulled, "an edit made after seeing the server's state must order after it")
        #expect(edit.physical == Self.serverNow)
    }

    @Test func aPhoneADayAheadCannotPushTheServerClockOrWinLaterEdits() {
        var server = HybridLogicalClock(node: "server", wallClock: { Self.serverNow })
        let fromTheFuture = HLC(physical: Self.serverNow + Self.day, node: "phone")
        let recorded = server.admit(fromTheFuture)
        #expect(recorded.physical <= Self.serverNow + server.maxSkewMillis, "the server re-stamps it with its own clock")
        #expect(server.last.physical <= Self.serverNow + server.maxSkewMillis, "and is not dragged a day ahead")
        // An honest device editing two minutes later wins.
        let honest = HLC(physical: Self.serverNow + 120_000, node: "tablet")
        #expect(server.admit(honest) > recorded)
    }

    @Test func ticksAreStrictlyIncreasingEvenWhenTheWallClockStalls() {
        var clock = HybridLogicalClock(node: "n", wallClock: { 1000 })
        let stamps = (0..<100).map { _ in clock.tick() }
        #expect(zip(stamps, stamps.dropFirst()).allSatisfy { $0 < $1 })
        #expect(HLC(stamps[5].description) == stamps[5], "the wire form round-trips")
    }
}

/// No parseable timestamp makes a clock trap, on the server or on a phone (S1).
@Suite struct HybridLogicalClockBoundsTests {
    static let now: Int64 = 1_795_000_000_000

    @Test("S1: HLC counters and times outside the bounds do not parse") func counterAndTimeOutsideTheBoundsDoNotParse() {
        #expect(HLC("1795000000000-65535-x")?.logical == HLC.maxLogical)
        #expect(HLC("1795000000000-65536-x") == nil)
        #expect(HLC("1795000005000-2147483647-x") == nil)
        #expect(HLC("1795000000000-99999999999-x") == nil)
        #expect(HLC("99999999999999-00000-x") == nil, "past the 13-digit range")
        #expect(HLC("+795000000000-00000-x") == nil && HLC("1795000000000--1-x") == nil)
        #expect(HLC("9999999999999-00000-x")?.physical == HLC.maxPhysical)
    }

    @Test("S1: a full HLC counter moves to the next millisecond") func aFullCounterMovesToTheNextMillisecond() {
        var clock = HybridLogicalClock(node: "server", wallClock: { Self.now })
        let remote = HLC(physical: Self.now + 5_000, logical: HLC.maxLogical, node: "phone")
        #expect(clock.admit(remote) == remote)
        let next = clock.tick()
        #expect(next > remote && next.physical == Self.now + 5_001 && next.logical == 1)
        #expect(HLC(next.description) == next)
    }

    @Test("S1: extreme HLC stamps never trap and stay ordered") func extremeStampsNeverTrapAndStayOrdered() {
        let extremes = [
            HLC(physical: Self.now + 30_000, logical: .max, node: "a"), HLC(physical: Self.now + 30_000, logical: .max - 1, node: "a"),
            HLC(physical: .max, logical: .max, node: "b"), HLC(physical: HLC.maxPhysical, logical: HLC.maxLogical, node: "c"),
            HLC(physical: -1, logical: -1, node: "d"), HLC(physical: .min, logical: .min, node: "e"),
        ]
        for remote in extremes {
            var server = HybridLogicalClock(node: "server", wallClock: { Self.now })
            let admitted = server.admit(remote)
            #expect(HLC(admitted.description) != nil, "what the server records parses again: \(admitted)")
            let after = server.tick()
            #expect(after > server.last || after == server.last)
            #expect(HLC(after.description) != nil)
            var phone = HybridLogicalClock(node: "phone", last: remote, wallClock: { .max })
            phone.receive(remote)
            #expect(phone.tick().physical <= HLC.maxPhysical)
        }
        // At the very end of representable time the clock saturates instead of trapping.
        var end = HybridLogicalClock(node: "n", last: HLC(physical: HLC.maxPhysical, logical: HLC.maxLogical, node: "n"), wallClock: { .max })
        #expect(end.tick() == HLC(physical: HLC.maxPhysical, logical: HLC.maxLogical, node: "n"))
        var skewed = HybridLogicalClock(node: "s", maxSkewMillis: .max, wallClock: { .max })
        #expect(skewed.admit(HLC(physical: 5, node: "p")).physical == 5)
    }

    @Test func aDeviceStampWithinTheSkewAndAFullCounterIsKeptAndTheServerMovesOn() {
        var server = HybridLogicalClock(node: "server", wallClock: { Self.now })
        let remote = HLC(physical: Self.now + 30_000, logical: HLC.maxLogical - 1, node: "phone")
        #expect(server.admit(remote) == remote)
        #expect(server.tick() == HLC(physical: Self.now + 30_001, logical: 0, node: "server"))
    }
}

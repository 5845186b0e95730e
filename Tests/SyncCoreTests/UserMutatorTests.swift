import Foundation
import SyncCore
import Testing

/// Profile and message mutators against hostile values: bounded cost (S5), whole-string checks (S28), and a read time
/// that never lies in the applying side's future (S38).
@Suite struct UserMutatorTests {
    static let account = "acc_1"
    static let now: Int64 = 1_795_000_000_000

    static func context(hlc: Int64 = now, now: Int64 = now) -> MutationContext {
        MutationContext(accountID: account, role: .citizen, clientID: "phone", hlc: HLC(physical: hlc, node: "phone"), now: now, authoritative: true)
    }

    static func update(_ changes: ProfileUpdate.ProfileChanges) throws(MutationRejection) -> Profile? {
        var state = MutationState(entities: [EntityKey(.profile, account): SyncJSON.encode(Profile(id: account, name: "王", kind: "citizen"))])
        try ProfileUpdate.apply(.init(changes: changes), to: &state, context: context())
        return try state.get(Profile.self, id: account)
    }

    static func rejectionCode(_ changes: ProfileUpdate.ProfileChanges) -> String? {
        do {
            _ = try update(changes)
            return nil
        } catch {
            return error.code.rawValue
        }
    }

    @Test("S5: a huge e-mail is refused at once") func aHugeEMailIsRefusedAtOnce() {
        let hostile = "a@" + String(repeating: ".", count: 16_000) + "@"
        let started = ContinuousClock.now
        for _ in 0..<10 { #expect(Self.rejectionCode(.init(email: hostile)) == "invalid_args") }
        #expect(ContinuousClock.now - started < .milliseconds(10 * 10), "well under 10 ms each")
        #expect(Self.rejectionCode(.init(email: String(repeating: "a", count: 250) + "@b.cn")) == "invalid_args", "255 characters")
        #expect(Self.rejectionCode(.init(email: String(repeating: "a", count: 249) + "@b.cn")) == nil, "254 characters")
    }

    @Test(arguments: ["a@b.cn", "wang.jianguo@example.com.cn", "张三@例子.中国"])
    func plausibleEMailsAreKept(email: String) throws {
        #expect(try Self.update(.init(email: email))?.email == email)
    }

    @Test(arguments: [
        "a@b.cn\n", "a@b.cn\r\n", "a@b\n.cn", "\na@b.cn", "a@b.cn\u{0}", "a@b.c\u{7}n", "a b@c.cn", "a@b.cn\u{3000}", "a@@b.cn", "a@b@c.cn",
        "@b.cn", "a@.cn", "a@cn.", "a@bcn", "a@b.",
    ])
    func eMailsWithControlsOrTheWrongShapeAreRefused(email: String) {
        #expect(Self.rejectionCode(.init(email: email)) == "invalid_args", "\(email.debugDescription)")
    }

    @Test("S28: contact phones are matched as a whole string") func contactPhonesAreMatchedAsAWholeString() throws {
        #expect(try Self.update(.init(contactPhone: "+86-138-1234-5678"))?.contactPhone == "+86-138-1234-5678")
        for phone in [
            "13812345678\n", "13812345678\r", "\n13812345678", "1381234\u{0}5678", "1234", String(repeating: "1", count: 21),
            "１３８１２３４５６７８",
        ] {
            #expect(Self.rejectionCode(.init(contactPhone: phone)) == "invalid_args", "\(phone.debugDescription)")
        }
        #expect(try Self.update(.init(contactPhone: ""))?.contactPhone == "", "empty clears it")
    }

    @Test("S38: a read is never recorded in the applying side's future") func aReadIsNeverRecordedInTheApplyingSidesFuture() throws {
        let message = Message(id: "m1", title: "t", body: "b", category: "case", createdAt: Self.now - 60_000)
        var state = MutationState(entities: [EntityKey(.message, "m1"): SyncJSON.encode(message)])
        // A device 59 s fast is within the skew the server admits: its stamp is kept, its read time is not.
        try MessageMarkRead.apply(.init(messageId: "m1"), to: &state, context: Self.context(hlc: Self.now + 59_000))
        #expect(try state.get(Message.self, id: "m1")?.readAt == Self.now)
        // An honest earlier read still wins.
        try MessageMarkRead.apply(.init(messageId: "m1"), to: &state, context: Self.context(hlc: Self.now - 5_000, now: Self.now + 1_000))
        #expect(try state.get(Message.self, id: "m1")?.readAt == Self.now - 5_000)
    }
}

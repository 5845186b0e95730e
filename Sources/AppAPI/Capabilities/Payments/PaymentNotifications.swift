import Crypto
import Foundation
import SQLKit
import SyncCore
import _CryptoExtras

/// `POST /v1/payments/notify/{channel}`: a channel's asynchronous notification, verified over the raw body bytes with
/// the channel's public key (WeChat's also within its 5-minute timestamp window and a nonce seen once), checked
/// against our merchant identity, the trade and its amount, and applied exactly once. Every genuine duplicate is
/// acknowledged the way its channel expects (Alipay: the body `success`; WeChat and UnionPay: HTTP 200), so the
/// channel stops resending; anything refused is answered with a problem, so a genuine channel would resend it.
struct PaymentNotifications: Sendable {
    let database: any Database
    let ledger: PaymentLedger
    let runtime: Runtime

    /// The most a notification body may be.
    static let maxBytes = 16 * 1024
    /// WeChat's replay window.
    static let window: TimeInterval = 300

    /// The answer to a channel.
    struct Answer: Sendable, Equatable {
        var status: Int
        var body: String
        var outcome: PaymentLedger.Outcome?
    }

    func receive(_ channel: PaymentChannel, _ message: ChannelMessage) async throws -> Answer {
        guard message.body.count <= Self.maxBytes else { throw AppError.payloadTooLarge(limit: Self.maxBytes) }
        let keys = try await publicKeys(channel)
        guard !keys.isEmpty else { throw AppError(.channelUnavailable, "\(channel.rawValue) is not configured on this server.") }
        let notice: ChannelNotice
        do {
            switch channel {
            case .alipay:
                guard let key = keys.first?.value.key else { throw ChannelWireError.unknownKey("") }
                notice = try AlipayWire.notice(from: message, publicKey: key)
            case .wechat:
                guard let apiKey = keys.values.compactMap(\.apiKey).first else { throw ChannelWireError.unknownKey("") }
                notice = try WechatWire.notice(
                    from: message, publicKeys: keys.mapValues(\.key), apiV3Key: apiKey,
                    now: Date(timeIntervalSince1970: Double(runtime.now()) / 1000),
                    window: Self.window)
            case .unionpay:
                notice = try UnionPayWire.notice(from: message, publicKeys: keys.mapValues(\.key))
            }
        } catch let error as ChannelWireError {
            throw AppError(.notificationRejected, Self.reason(error))
        }
        let outcome = try await database.transaction { [ledger, runtime] db -> PaymentLedger.Outcome in
            if channel == .wechat, let replay = WechatWire.replayFields(of: message) {
                let fresh = try await db.raw(
                    """
                    INSERT INTO payment_nonces (channel, nonce, seen_at) VALUES (\(bind: channel.rawValue), \(bind: replay.nonce), \(bind: runtime.now()))
                    ON CONFLICT (channel, nonce) DO NOTHING RETURNING nonce
                    """
                ).first()
                guard fresh != nil else { throw AppError(.notificationReplayed, "This notification's nonce was seen before.") }
            }
            let (outcome, records) = try await ledger.apply(notice, channel: channel, eventID: notice.eventID, on: db)
            if !records.isEmpty { try await ChangeLog.append(records, on: db, now: runtime.now()) }
            return outcome
        }
        return Answer(status: 200, body: channel == .alipay ? AlipayWire.acknowledgement : "", outcome: outcome)
    }

    static func reason(_ error: ChannelWireError) -> String {
        switch error {
        case .malformed(let what): "The notification is malformed: \(what)."
        case .badSignature: "The notification's signature does not verify."
        case .unknownKey(let id): "The notification is signed with an unknown key \(id)."
        case .staleTimestamp: "The notification's timestamp is outside the 5-minute window."
        }
    }

    private struct ChannelKey: Sendable {
        var key: _RSA.Signing.PublicKey
        var apiKey: SymmetricKey?
    }

    private func publicKeys(_ channel: PaymentChannel) async throws -> [String: ChannelKey] {
        let rows = try await database.read { db in
            try await db.select().columns("key_id", "public_pem", "api_key").from("payment_channel_keys").where("channel", .equal, channel.rawValue)
                .all().map { row in
                    (
                        try row.decode(column: "key_id", as: String.self), try row.decode(column: "public_pem", as: String.self),
                        try row.decode(column: "api_key", as: String?.self)
                    )
                }
        }
        var keys: [String: ChannelKey] = [:]
        for (id, pem, apiKey) in rows {
            guard let key = try? _RSA.Signing.PublicKey(pemRepresentation: pem) else { continue }
            keys[id] = ChannelKey(key: key, apiKey: apiKey.flatMap { Data(base64Encoded: $0) }.map { SymmetricKey(data: $0) })
        }
        return keys
    }

    /// Forgets WeChat nonces older than twice the window (older messages fail the timestamp check anyway).
    func purgeNonces() async throws -> Int {
        let cutoff = runtime.now() - Int(Self.window * 2000)
        return try await database.transaction { db in
            try await db.raw("DELETE FROM payment_nonces WHERE seen_at < \(bind: cutoff) RETURNING nonce").all().count
        }
    }
}

extension ProblemCode {
    /// A WeChat notification whose nonce was already used.
    static let notificationReplayed = ProblemCode("notification_replayed", .badRequest)
}

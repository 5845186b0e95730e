import AsyncHTTPClient
import Foundation
import NIOCore
import SQLKit
import SyncCore
import Synchronization

/// The sandbox channels' postman: sends each notification they owe to the platform's handler, resending on the
/// channel's schedule (`SandboxChannel.schedule`, divided by its time scale) until the answer is the one that channel
/// waits for, then gives up as the real channel does. Each attempt is claimed first (`attempts` compared and
/// incremented), so two instances never send one attempt twice.
///
/// A running server posts each notification over HTTP to its own `POST /v1/payments/notify/{channel}` (`send(to:)`,
/// set once it listens), as the real channel would, so the wire, the body limit and the answer travel the same way;
/// tests on the in-memory router, which has no socket, hand the same bytes to the handler directly.
final class SandboxDeliveries: Sendable {
    let database: any Database
    let channels: [PaymentChannel: SandboxChannel]
    let receiver: PaymentNotifications
    let runtime: Runtime
    /// One delivery round at a time in this process: a caller asking for deliveries waits for the job's round in
    /// flight, so what it asked for has been answered when it returns.
    private let rounds = AsyncMutex()
    /// Where notifications go over HTTP (the server's own address); `nil`: straight to the handler.
    private let notifyBase = Mutex<String?>(nil)
    /// How long one notification may take to be answered, as a channel gives up on a slow merchant.
    static let answerTimeout: TimeAmount = .seconds(10)

    init(database: any Database, channels: [PaymentChannel: SandboxChannel], receiver: PaymentNotifications, runtime: Runtime) {
        self.database = database
        self.channels = channels
        self.receiver = receiver
        self.runtime = runtime
    }

    /// Sends notifications over HTTP to `base` (`http://127.0.0.1:8080`) from now on.
    func send(to base: String) { notifyBase.withLock { $0 = base } }

    /// Delivers the sandbox channels' due notifications to `receive`, resending on each channel's schedule; what a
    /// delivery sets off (a refund's own notification) goes out in the same call, up to a few rounds.
    func deliverDue(limit: Int = 200) async throws -> Int {
        try await rounds.withLock {
            var acknowledged = 0
            for _ in 0..<4 {
                let round = try await deliverRound(limit: limit)
                acknowledged += round.acknowledged
                if round.attempted == 0 { break }
            }
            return acknowledged
        }
    }

    private func deliverRound(limit: Int) async throws -> (attempted: Int, acknowledged: Int) {
        guard !channels.isEmpty else { return (0, 0) }
        let now = runtime.nowMillis
        let due = try await database.read { db in
            try await db.select().columns("id", "channel", "notice", "attempts", "next_at").from("sandbox_deliveries")
                .where("state", .equal, "pending").where("next_at", .lessThanOrEqual, now).orderBy("next_at").limit(limit).all()
        }
        var delivered = 0
        var attempted = 0
        for row in due {
            let id = try row.decode(column: "id", as: String.self)
            let attempts = try row.decode(column: "attempts", as: Int.self)
            guard let channel = PaymentChannel(rawValue: try row.decode(column: "channel", as: String.self)), let sandbox = channels[channel],
                let notice = try? JSONDecoder().decode(ChannelNotice.self, from: Data(try row.decode(column: "notice", as: String.self).utf8))
            else { continue }
            // Claim the attempt (another instance may be delivering the same row).
            let schedule = sandbox.schedule
            let nextAt: Int64? = attempts < schedule.count ? now + Int64(Double(schedule[attempts]) * 1000 / max(sandbox.timeScale, 0.000_001)) : nil
            let claimed = try await database.transaction { db in
                try await db.raw(
                    """
                    UPDATE sandbox_deliveries SET attempts = \(bind: attempts + 1), next_at = \(bind: nextAt ?? now),
                        state = \(bind: nextAt == nil ? "gave_up" : "pending")
                    WHERE id = \(bind: id) AND attempts = \(bind: attempts) RETURNING id
                    """
                ).first() != nil
            }
            guard claimed else { continue }
            attempted += 1
            let message = try await sandbox.message(for: notice, on: database)
            let answer: PaymentNotifications.Answer
            if let base = notifyBase.withLock({ $0 }) {
                answer = (try? await post(message, channel: channel, to: base)) ?? .init(status: 0, body: "")
            } else {
                do { answer = try await receiver.receive(channel, message) } catch let error as AppError {
                    answer = .init(status: Int(error.status.code), body: error.code.rawValue)
                }
            }
            if sandbox.acknowledges(status: answer.status, body: answer.body) {
                try await database.transaction { db in
                    try await db.update("sandbox_deliveries").set("state", to: "acked").where("id", .equal, id).run()
                }
                delivered += 1
            }
        }
        return (attempted, delivered)
    }

    /// Posts `message` to the platform's notify URL and reads the answer (its first KiB: a channel reads `success`
    /// or a status, nothing long).
    private func post(_ message: ChannelMessage, channel: PaymentChannel, to base: String) async throws -> PaymentNotifications.Answer {
        var request = HTTPClientRequest(url: "\(base)/v1/payments/notify/\(channel.rawValue)")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: message.contentType)
        for (name, value) in message.headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: message.body))
        let response = try await HTTPClient.shared.execute(request, timeout: Self.answerTimeout)
        let body = try await response.body.collect(upTo: 1024)
        return .init(status: Int(response.status.code), body: String(buffer: body))
    }
}

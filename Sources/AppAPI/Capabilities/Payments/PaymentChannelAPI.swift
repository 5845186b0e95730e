import SQLKit
import SyncCore

/// The merchant side of a payment channel as the platform calls it: prepay, query, close and refund. The sandbox
/// channels implement it over the same database (their calls join the caller's transaction, which a remote channel's
/// cannot: the ledger never relies on that — every answer it acts on is also delivered, or found by a query, again).
protocol PaymentChannelAPI: Sendable {
    var channel: PaymentChannel { get }
    /// Starts a trade; returns the parameters the phone hands to the payment app.
    func prepay(tradeNo: String, amountFen: Int, subject: String, expiresAt: Int64, on db: any SQLDatabase) async throws -> [String: String]
    /// What the channel says of a trade now: `paid` or `closed` notices, or `nil` while it waits for the payer.
    func query(tradeNo: String, on db: any SQLDatabase) async throws -> ChannelNotice?
    /// Closes an unpaid trade; a trade the payer completed first is not closed and its success is returned.
    func close(tradeNo: String, on db: any SQLDatabase) async throws -> ChannelNotice?
    /// Asks for a refund; the channel answers "accepted" and notifies the result later.
    func refund(tradeNo: String, refundNo: String, amountFen: Int, on db: any SQLDatabase) async throws
    /// What the merchant identity in a genuine notice of this channel is.
    var merchant: (appID: String, merchantID: String) { get }
}

/// The channels this server may use, by name; empty in production until real channels are configured.
struct PaymentChannels: Sendable {
    let all: [PaymentChannel: any PaymentChannelAPI]

    func api(_ channel: PaymentChannel) throws -> any PaymentChannelAPI {
        guard let api = all[channel] else {
            throw AppError(.channelUnavailable, "\(channel.label) (\(channel.rawValue)) is not available on this server.")
        }
        return api
    }
}

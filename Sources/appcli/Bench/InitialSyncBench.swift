import AsyncHTTPClient
import Foundation
import NIOCore
import SyncCore

/// The initial-sync budget: a fresh replica downloads the whole catalog through the real engine and transport.
/// Also measures how much a pull page weighs against the JSON of the entities it carries.
enum InitialSyncBench {
    struct Result {
        var seconds: Double
        var entities: Int
        var pages: Int
        var payloadRatio: Double
    }

    static func run(phone: BenchPhone, http: HTTPClient, server: URL) async throws -> Result {
        let replica = try Replica(path: nil)
        let engine = SyncEngine(replica: replica, transport: .http(phone.connection), options: SyncOptions(pageLimit: 2000))
        let clock = ContinuousClock()
        let start = clock.now
        let report = try await engine.sync()
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Result(
            seconds: seconds, entities: report.entities, pages: report.pages,
            payloadRatio: try await payloadRatio(phone: phone, http: http, server: server))
    }

    /// Bytes of one raw 2000-change page over the bytes of the entity JSON inside it.
    private static func payloadRatio(phone: BenchPhone, http: HTTPClient, server: URL) async throws -> Double {
        var request = HTTPClientRequest(url: server.appendingPathComponent("v1/sync/pull").absoluteString)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Authorization", value: "Bearer \(phone.connection.bearer.current ?? "")")
        request.body = .bytes(ByteBuffer(string: #"{"clientId":"\#(phone.clientID)-raw","limit":2000}"#))
        let response = try await http.execute(request, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 64 << 20)
        let bytes = Data(body.readableBytesView)
        let page = try JSONSerialization.jsonObject(with: bytes) as? [String: Any]
        let changes: [[String: Any]] = page?["changes"] as? [[String: Any]] ?? []
        var entityBytes = 0
        for change in changes {
            if let data = change["data"] { entityBytes += try JSONSerialization.data(withJSONObject: data, options: [.withoutEscapingSlashes]).count }
        }
        return entityBytes == 0 ? 0 : Double(bytes.count) / Double(entityBytes)
    }
}

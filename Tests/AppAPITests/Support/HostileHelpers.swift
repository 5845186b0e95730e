import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SyncCore
import Testing

@testable import AppAPI

/// Valid resident ID numbers nobody has registered (random sequence digits, a real birth date, the right check character).
enum FreshIdentity {
    static func residentID() -> String {
        let digits =
            "330106" + String(format: "%04d%02d%02d", Int.random(in: 1950...2005), Int.random(in: 1...12), Int.random(in: 1...28))
            + String(format: "%03d", Int.random(in: 0...999))
        return digits + String(ResidentIDNumber.checkCharacter(for: digits.map { Int(String($0))! }))
    }

    /// A registration body for a fresh citizen.
    static func registration(idNumber: String = residentID(), password: String = "Hostile2026pass") -> [String: Any] {
        ["kind": "citizen", "idNumber": idNumber, "name": "测试", "phone": "13800000009", "password": password]
    }
}

/// The median of some durations, in seconds.
func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
}

/// Seconds `body` took.
func seconds(_ body: () async throws -> Void) async rethrows -> Double {
    let start = ContinuousClock.now
    try await body()
    let (whole, atto) = (ContinuousClock.now - start).components
    return Double(whole) + Double(atto) / 1e18
}

extension TestClientProtocol {
    /// POST JSON as if from `client` behind the trusted proxy (the test server trusts 127.0.0.1).
    func post(_ uri: String, json: Any, from client: String, token: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/json", .xForwardedFor: client]
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await execute(uri: uri, method: .post, headers: headers, body: try jsonBody(json))
    }
}

/// The loopback addresses a live test client connects from, trusted so that `X-Forwarded-For` names the client.
let loopbackProxies = try! TrustedProxies(parsing: ["127.0.0.1/32", "::1/128"])

import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import OneTripAPI
import SyncCore
import Testing

@testable import AppAPI

typealias TokenResponse = Components.Schemas.TokenResponse

/// Demo accounts from seeds/demo-accounts.json (loaded in dev mode).
enum Demo {
    static let citizen = (idNumber: "330106198503124811", password: "Citizen2026wjg")
    static let citizen2 = (idNumber: "330102199207085263", password: "Citizen2026lxy")
    static let enterprise = (creditCode: "91330106MA2H7K3Q0L", password: "Enterprise2026yq")
    static let admin = (username: "admin", password: "Admin2026onetrip")
    static let kiosk = (username: "kiosk.city-01", password: "Kiosk2026city01")
}

func jsonBody(_ object: Any) throws -> ByteBuffer {
    ByteBuffer(data: try JSONSerialization.data(withJSONObject: object))
}

extension TestClientProtocol {
    func post(_ uri: String, json: Any, token: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await execute(uri: uri, method: .post, headers: headers, body: try jsonBody(json))
    }

    func get(_ uri: String, token: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await execute(uri: uri, method: .get, headers: headers)
    }

    func login(_ identifier: [String: String], password: String, device: String = "测试手机", publicKey: [String: String]? = nil) async throws
        -> TestResponse
    {
        var deviceBody: [String: Any] = ["name": device, "platform": "cli"]
        if let publicKey { deviceBody["publicKey"] = publicKey }
        var body: [String: Any] = ["password": password, "device": deviceBody]
        for (key, value) in identifier { body[key] = value }
        return try await post("/v1/auth/login", json: body)
    }

    /// Logs the demo citizen in and returns the tokens.
    func loginCitizen(_ who: (idNumber: String, password: String) = Demo.citizen, device: String = "测试手机") async throws -> TokenResponse {
        let response = try await login(["idNumber": who.idNumber], password: who.password, device: device)
        #expect(response.status == .ok, "login failed: \(response.text)")
        return try response.json(TokenResponse.self)
    }

    func loginStaff(_ who: (username: String, password: String)) async throws -> TokenResponse {
        let response = try await login(["username": who.username], password: who.password)
        #expect(response.status == .ok, "login failed: \(response.text)")
        return try response.json(TokenResponse.self)
    }
}

/// Builds a compact JWS by hand, so tests can make every kind of bad token.
enum Forge {
    static func token(header: [String: Any], claims: [String: Any], key: P256.Signing.PrivateKey?) throws -> String {
        let h = base64URL(try JSONSerialization.data(withJSONObject: header, options: .sortedKeys))
        let c = base64URL(try JSONSerialization.data(withJSONObject: claims, options: .sortedKeys))
        let input = "\(h).\(c)"
        guard let key else { return input + "." }
        let signature = try key.signature(for: Data(input.utf8)).rawRepresentation
        return input + "." + base64URL(signature)
    }

    static func hs256(header: [String: Any], claims: [String: Any], secret: Data) throws -> String {
        let h = base64URL(try JSONSerialization.data(withJSONObject: header, options: .sortedKeys))
        let c = base64URL(try JSONSerialization.data(withJSONObject: claims, options: .sortedKeys))
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(h).\(c)".utf8), using: SymmetricKey(data: secret))
        return "\(h).\(c).\(base64URL(Data(mac)))"
    }

    /// The server's current access-token signing key, read from its database.
    static func serverKey(_ database: any Database) async throws -> (kid: String, key: P256.Signing.PrivateKey) {
        let row = try? await database.read { db in
            try await db.raw("SELECT kid, private_pem FROM signing_keys WHERE purpose = 'access' AND retired_at IS NULL ORDER BY created_at DESC")
                .first()
        }
        let found = try #require(row)
        return (
            try found.decode(column: "kid", as: String.self),
            try P256.Signing.PrivateKey(pemRepresentation: try found.decode(column: "private_pem", as: String.self))
        )
    }

    /// Claims that would pass, to be spoiled one at a time.
    static func goodClaims(sub: String, did: String, now: Date = Date()) -> [String: Any] {
        [
            "iss": AccessClaims.issuer, "aud": [AccessClaims.audience], "sub": sub, "exp": Int(now.timeIntervalSince1970) + 600,
            "iat": Int(now.timeIntervalSince1970), "jti": UUID().uuidString, "role": "citizen", "did": did, "token_use": "access",
        ]
    }
}

/// Runs `body` with a test app and the location of its database (for tests that inspect storage or keys).
func withTestAppAndDatabase(_ engine: TestEngine, _ body: @escaping @Sendable (any TestClientProtocol, any Database) async throws -> Void)
    async throws
{
    try await withTestAppDatabase(engine, body)
}

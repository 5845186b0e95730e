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

/// A holder's phone in wallet tests: the demo citizen signed in with a device key, so licenses bind to it.
struct WalletPhone: Sendable {
    let token: String
    let key: P256.Signing.PrivateKey
}

enum WalletFixture {
    static let police = (username: "clerk.police", password: "Clerk2026police")
    static let traffic = (username: "clerk.traffic", password: "Clerk2026traffic")
    /// 居民身份证换领 (public security): no materials; issues a `resident_id_card`.
    static let idCardMatter = "330100-PSN-0001"
    /// 机动车驾驶人考试预约 (traffic police): its one material, the ID card, may be an e-license.
    static let drivingTestMatter = "330100-PSN-0020"
}

extension TestClientProtocol {
    /// Signs the demo citizen in on a device with a fresh P-256 key.
    func walletPhone(_ who: (idNumber: String, password: String) = Demo.citizen) async throws -> WalletPhone {
        let key = P256.Signing.PrivateKey()
        let jwk = ECPublicJWK(key.publicKey)
        let response = try await login(
            ["idNumber": who.idNumber], password: who.password, publicKey: ["kty": "EC", "crv": "P-256", "x": jwk.x, "y": jwk.y])
        #expect(response.status == .ok, "login failed: \(response.text)")
        return WalletPhone(token: try response.json(TokenResponse.self).accessToken, key: key)
    }

    /// Applies for a new ID card and has the police clerk approve it; returns the license it issued.
    func approvedIDCard(_ phone: WalletPhone, clerk: String) async throws -> License {
        let created = try await createCase(phone.token, body: ["matterCode": WalletFixture.idCardMatter, "form": ["address": "杭州市西湖区文三路 90 号"]])
        let id = try #require(try created.json(Components.Schemas.CaseList.self).items.first?.id)
        for action in ["accept", "startReview", "approve"] {
            let answer = try await act(clerk, id, action)
            #expect(answer.status == .ok, "\(action): \(answer.text)")
        }
        let wallet = try await get("/v1/wallet/licenses", token: phone.token).json(LicenseList.self)
        return try #require(wallet.items.first { $0.caseId == id })
    }

    /// The demo citizen on a keyed phone, the police clerk's token, and the ID card that clerk just issued.
    func issuedIDCard() async throws -> (phone: WalletPhone, police: String, license: License) {
        let phone = try await walletPhone()
        let police = try await loginStaff(WalletFixture.police).accessToken
        return (phone, police, try await approvedIDCard(phone, clerk: police))
    }

    /// A nonce and audience for `verifier`.
    func nonce(_ verifier: String) async throws -> (nonce: String, audience: String) {
        let answer = try await post("/v1/presentations/nonces", json: [:] as [String: String], token: verifier)
        #expect(answer.status == .created, "\(answer.text)")
        let body = try answer.json([String: JSONValue].self)
        return (try #require(body["nonce"]?.string), try #require(body["audience"]?.string))
    }

    func verify(_ presentation: String, as verifier: String) async throws -> TestResponse {
        try await post("/v1/presentations/verify", json: ["presentation": presentation], token: verifier)
    }

    func setStatus(_ licenseID: String, _ status: String, as token: String) async throws -> TestResponse {
        try await post("/v1/workbench/licenses/\(licenseID)/status", json: ["status": status, "reason": "测试"], token: token)
    }
}

struct LicenseList: Decodable {
    var items: [License]
}

struct AccessLogPage: Decodable {
    var items: [WalletAccess]
}

extension TestResponse {
    /// The problem code of a problem+json answer.
    var problemCode: String? { (try? json([String: JSONValue].self))?["code"]?.string }
}

func present(_ license: License, copy: Int = 0, fields: Set<String>, to verifier: (nonce: String, audience: String), key: P256.Signing.PrivateKey)
    throws -> String
{
    try SDJWT.present(
        license.copies[copy], fields: fields, audience: verifier.audience, nonce: verifier.nonce, issuedAt: Int64(Date().timeIntervalSince1970),
        holderKey: key)
}

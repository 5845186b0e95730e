import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import OneTripAPI
import SyncCore
import Testing

@testable import AppAPI

/// Every way an access token must be refused (the known jwt-kit pitfalls: README, "Identity and tokens").
@Suite struct TokenVerificationTests {
    @Test(arguments: TestEngine.enabled)
    func forgedAndSpoiledTokensAreRefused(engine: TestEngine) async throws {
        try await withTestAppAndDatabase(engine) { client, database in
            let session = try await client.loginCitizen()
            let (kid, key) = try await Forge.serverKey(database)
            let sub = session.account.id
            let did = session.deviceId
            let good = Forge.goodClaims(sub: sub, did: did)
            let header: [String: Any] = ["alg": "ES256", "typ": "JWT", "kid": kid]
            // Sanity: a token forged with the server's own key and good claims is accepted, so the refusals below
            // are due to the one thing each case spoils.
            #expect(try await client.get("/v1/me", token: try Forge.token(header: header, claims: good, key: key)).status == .ok)

            var cases: [(String, String)] = []
            func spoil(_ name: String, header h: [String: Any] = header, claims c: [String: Any] = good, key k: P256.Signing.PrivateKey? = key) throws
            {
                cases.append((name, try Forge.token(header: h, claims: c, key: k)))
            }
            func with(_ base: [String: Any], _ key: String, _ value: Any?) -> [String: Any] {
                var copy = base
                copy[key] = value
                return copy
            }
            try spoil("alg none", header: with(header, "alg", "none"), key: nil)
            try spoil("alg ES384 on a P-256 key", header: with(header, "alg", "ES384"))
            try spoil("missing kid", header: with(header, "kid", nil))
            try spoil("unknown kid", header: with(header, "kid", "access-unknown"))
            try spoil("typ at+jwt", header: with(header, "typ", "at+jwt"))
            try spoil("typ dc+sd-jwt", header: with(header, "typ", "dc+sd-jwt"))
            try spoil("crit header", header: with(header, "crit", ["exp"]))
            try spoil("no token_use", claims: with(good, "token_use", nil))
            try spoil("token_use refresh", claims: with(good, "token_use", "refresh"))
            try spoil("wrong issuer", claims: with(good, "iss", "https://evil.example"))
            try spoil("wrong audience", claims: with(good, "aud", ["someone-else"]))
            try spoil("expired beyond skew", claims: with(good, "exp", Int(Date().timeIntervalSince1970) - 61))
            try spoil("issued in the future", claims: with(good, "iat", Int(Date().timeIntervalSince1970) + 3600))
            try spoil("unknown role", claims: with(good, "role", "superuser"))
            try spoil("signed by another key", key: P256.Signing.PrivateKey())
            // HS256 with the public key as the HMAC secret (the classic algorithm-confusion attack).
            let publicPEM = Data(key.publicKey.pemRepresentation.utf8)
            cases.append(("HS256 with the public key", try Forge.hs256(header: with(header, "alg", "HS256"), claims: good, secret: publicPEM)))
            // Tampering with a real token.
            let parts = session.accessToken.split(separator: ".").map(String.init)
            var claims = try JSONSerialization.jsonObject(with: decodeBase64URL(parts[1])!) as! [String: Any]
            claims["role"] = "admin"
            let tamperedPayload = parts[0] + "." + base64URL(try JSONSerialization.data(withJSONObject: claims)) + "." + parts[2]
            cases.append(("tampered payload", tamperedPayload))
            var signature = decodeBase64URL(parts[2])!
            signature[5] ^= 0x01
            cases.append(("tampered signature", parts[0] + "." + parts[1] + "." + base64URL(signature)))
            cases.append(("not a JWT", "hello"))

            for (name, token) in cases {
                let response = try await client.get("/v1/me", token: token)
                #expect(response.status == .unauthorized, "\(name) was accepted")
                #expect(try response.problem().code == "invalid_token", "\(name)")
            }
            // Within the 5 s skew an expired token is still accepted (clock jitter between instances); 30 s late it is not.
            #expect(
                try await client.get(
                    "/v1/me", token: try Forge.token(header: header, claims: with(good, "exp", Int(Date().timeIntervalSince1970) - 2), key: key)
                ).status == .ok)
            #expect(
                try await client.get(
                    "/v1/me", token: try Forge.token(header: header, claims: with(good, "exp", Int(Date().timeIntervalSince1970) - 30), key: key)
                ).status == .unauthorized)
        }
    }

    @Test(arguments: TestEngine.enabled)
    func rotatedKeysStayPublishedUntilTheirTokensExpire(engine: TestEngine) async throws {
        try await withMigratedDatabase(engine) { database in
            let tokens = TokenService(database: database)
            let account = Account(id: "acc_test", kind: .citizen, name: "测试", passwordHash: "-", createdAt: 0)
            try await AccountStore(database: database).create(account)
            let device = Device(id: "dev_test", accountID: account.id, name: "d", platform: .cli, createdAt: 0)
            try await database.transaction { db in try await AccountStore(database: database).insertDevice(device, on: db) }
            let old = try await tokens.issueAccessToken(for: account, device: device).token
            let oldKID = try await tokens.keys.keySet().signingKID

            let newKID = try await SigningKeyStore.rotate(purpose: "access", on: database)
            try await tokens.keys.reload()
            let set = try await tokens.keys.keySet()
            #expect(set.signingKID == newKID && newKID != oldKID)
            #expect(Set(set.jwks.map(\.kid)) == [oldKID, newKID])
            #expect(try await tokens.verifyToken(old).accountID == account.id)
            let new = try await tokens.issueAccessToken(for: account, device: device).token
            #expect(try JOSEHeader.parse(new).kid == newKID)

            // Once the retired key is older than any token it could have signed, it is gone.
            let longAgo = Clock.nowMillis() - 3_600_000
            try await database.transaction { db in
                try await db.raw("UPDATE signing_keys SET retired_at = \(bind: longAgo) WHERE kid = \(bind: oldKID)").run()
            }
            let fresh = TokenService(database: database)
            #expect(try await fresh.keys.keySet().jwks.map(\.kid) == [newKID])
            await #expect(throws: TokenRejection.unknownKID) { _ = try await fresh.verifyToken(old) }
        }
    }

    @Test func jwksPublishesOnlyPublicParts() async throws {
        try await withTestApp(.sqlite) { client in
            let response = try await client.get("/.well-known/jwks.json")
            #expect(response.status == .ok)
            let keys = try response.json(Components.Schemas.JWKSet.self).keys
            #expect(keys.count == 1 && keys[0].kid?.hasPrefix("access-") == true && keys[0].alg == "ES256")
            #expect(!response.text.contains("\"d\""), "a private key component leaked")
        }
    }
}

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

@Suite struct WalletTests {
    @Test(
        "An approved case issues its license into the applicant's wallet: copies with their own salts, status entries and the device key",
        arguments: TestEngine.enabled)
    func issuesOnApproval(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let phone = try await client.walletPhone()
            let clerk = try await client.loginStaff(WalletFixture.police).accessToken
            let license = try await client.approvedIDCard(phone, clerk: clerk)
            #expect(license.type == "resident_id_card" && license.state == .valid && license.departmentId == "hz-public-security")
            #expect(license.issuer == "https://onetrip.hangzhou.gov.cn/issuers/hz-public-security")
            // Server-owned facts come from the account, not from the form.
            #expect(license.fields["name"] == "王建国" && license.fields["id_number"] == "330106198503124811")
            #expect(license.fields["sex"] == "男" && license.fields["birth_date"] == "1985-03-12")
            #expect(license.fields["issuing_authority"] == "杭州市公安局")
            #expect(license.expiresAt == nil && license.fields["valid_until"] == nil, "an ID card's validity depends on age: not guessed")
            #expect(license.copies.count == 4)
            // The card it replaces — the one the demo citizen held from before — is superseded, not deleted.
            let wallet = try await client.get("/v1/wallet/licenses", token: phone.token).json(LicenseList.self).items
            let previous = try #require(wallet.first { $0.type == "resident_id_card" && $0.id != license.id })
            #expect(previous.state == .superseded && previous.supersededBy == license.id && previous.caseId == nil)
            #expect(wallet.filter { $0.state == .valid }.map(\.type).sorted() == ["household_register", "marriage_certificate", "resident_id_card"])

            // Every copy verifies offline against the published keys and list, bound to this device.
            let jwks = try await client.get("/v1/issuers/hz-public-security/jwks").json(Components.Schemas.JWKSet.self)
            let keys = jwks.keys.compactMap { jwk in
                ECPublicJWK(.object(["kty": "EC", "crv": "P-256", "x": .string(jwk.x), "y": .string(jwk.y)]))?.publicKey.map {
                    PresentationVerifier.IssuerKey(keyID: jwk.kid ?? "", issuer: license.issuer, key: $0)
                }
            }
            #expect(keys.count == 1)
            var indices = Set<Int64>()
            var salts = Set<String>()
            for copy in license.copies {
                let jws = try CompactJWS(try #require(copy.split(separator: "~").first))
                #expect(jws.header["typ"] == "dc+sd-jwt" && jws.header["alg"] == "ES256")
                #expect(ECPublicJWK(jws.payload["cnf"]?["jwk"]) == ECPublicJWK(phone.key.publicKey))
                let entry = try #require(jws.payload["status"]?["status_list"])
                indices.insert(try #require(entry["idx"]?.integer))
                let uri = try #require(entry["uri"]?.string)
                let listPath = try #require(uri.range(of: "/v1/status-lists/")).lowerBound
                let token = try await client.get(String(uri[listPath...])).text
                let list = try StatusListToken(verifying: token, keys: Dictionary(uniqueKeysWithValues: keys.map { ($0.keyID, $0) }))
                #expect(list.list.status(at: Int(try #require(entry["idx"]?.integer))) == .valid)
                for part in copy.split(separator: "~").dropFirst() { salts.insert(try #require(SDJWT.Disclosure(encoded: part)).salt) }
            }
            #expect(indices.count == 4, "each copy has its own status entry")
            #expect(salts.count == license.copies.count * (license.fields.count), "no salt is shared between copies")

            // It syncs: the license and a message in the user scope, the key and the list in public.
            let pulled = try await client.pullAll(phone.token, clientID: "wallet-phone").changes
            let types = Set(pulled.map(\._type.rawValue))
            #expect(types.isSuperset(of: ["license", "issuer_key", "status_list"]))
            #expect(pulled.contains { $0._type == .message && $0.id == "msg_license_\(license.id)" })
        }
    }

    @Test(
        "A verifier checks a presentation once: only the chosen fields, its own audience, a nonce used once, the holder's access log",
        arguments: TestEngine.enabled)
    func verifiesPresentations(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let (phone, police, license) = try await client.issuedIDCard()
            let kiosk = try await client.loginStaff(Demo.kiosk).accessToken
            let challenge = try await client.nonce(kiosk)
            let presentation = try present(license, fields: ["name", "birth_date"], to: challenge, key: phone.key)

            let answer = try await client.verify(presentation, as: kiosk)
            #expect(answer.status == .ok, "\(answer.text)")
            let verified = try answer.json(Components.Schemas.VerifiedPresentation.self)
            #expect(verified.holderBound && verified.departmentId == "hz-public-security" && verified.licenseType == "resident_id_card")
            let disclosed = try JSONDecoder().decode([String: String].self, from: JSONEncoder().encode(verified.disclosed))
            #expect(disclosed == ["name": "王建国", "birth_date": "1985-03-12"], "nothing the holder did not choose")

            // The same presentation again: the nonce is spent.
            #expect(try await client.verify(presentation, as: kiosk).problemCode == "key_binding_nonce")
            // A nonce another verifier was given does not serve this one; nor does its audience.
            let other = try await client.nonce(police)
            #expect(
                try await client.verify(try present(license, copy: 1, fields: ["name"], to: other, key: phone.key), as: kiosk).problemCode
                    == "key_binding_audience")
            let stolen = (nonce: other.nonce, audience: challenge.audience)
            #expect(
                try await client.verify(try present(license, copy: 1, fields: ["name"], to: stolen, key: phone.key), as: kiosk).problemCode
                    == "key_binding_nonce")
            // Someone else's device key cannot present it.
            let fresh = try await client.nonce(kiosk)
            #expect(
                try await client.verify(try present(license, copy: 2, fields: ["name"], to: fresh, key: P256.Signing.PrivateKey()), as: kiosk)
                    .problemCode == "key_binding_signature")
            // A tampered disclosure, an access token as a license, garbage.
            let tampered = try present(license, copy: 2, fields: ["name"], to: fresh, key: phone.key).replacingOccurrences(
                of: "~", with: "~WyJ4IiwibmFtZSIsIuadjuWbmyJd~", options: [], range: nil)
            #expect(try await client.verify(tampered, as: kiosk).problemCode != nil)
            #expect(try await client.verify(phone.token + "~", as: kiosk).problemCode == "wrong_type")
            #expect(try await client.verify("~~~", as: kiosk).problemCode == "presentation_malformed")

            // The holder sees who verified what (names of fields, never values); nobody else does.
            let log = try await client.get("/v1/wallet/access-log", token: phone.token).json(AccessLogPage.self)
            #expect(log.items.count == 1)
            #expect(log.items.first?.action == .verified && log.items.first?.party == "市民中心24小时自助服务区1号机")
            #expect(log.items.first?.fields == ["birth_date", "name"] && log.items.first?.licenseId == license.id)
            let neighbour = try await client.loginCitizen(Demo.citizen2)
            #expect(try await client.get("/v1/wallet/access-log", token: neighbour.accessToken).json(AccessLogPage.self).items.isEmpty)
            #expect(try await client.get("/v1/wallet/licenses/\(license.id)", token: neighbour.accessToken).status == .notFound)
        }
    }

    @Test(
        "Clerks of the issuing department and admins suspend, reinstate and revoke; the published list says so at once", arguments: TestEngine.enabled
    )
    func statusChanges(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let (phone, police, license) = try await client.issuedIDCard()
            let traffic = try await client.loginStaff(WalletFixture.traffic).accessToken
            let admin = try await client.loginStaff(Demo.admin).accessToken
            let kiosk = try await client.loginStaff(Demo.kiosk).accessToken

            #expect(try await client.setStatus(license.id, "suspended", as: traffic).status == .notFound, "another department's clerk")
            #expect(try await client.setStatus(license.id, "suspended", as: phone.token).status == .forbidden, "the holder")
            #expect(try await client.setStatus(license.id, "suspended", as: kiosk).status == .forbidden)

            let copy = try CompactJWS(try #require(license.copies[0].split(separator: "~").first))
            let entry = try #require(copy.payload["status"]?["status_list"])
            let uri = try #require(entry["uri"]?.string)
            let path = String(uri[try #require(uri.range(of: "/v1/status-lists/")).lowerBound...])
            let before = try await client.get(path)
            let etag = try #require(before.headers[.eTag])
            #expect(before.headers[.cacheControl] == "public, max-age=300")
            #expect(before.headers[.contentType] == "application/statuslist+jwt")
            #expect(try await client.execute(uri: path, method: .get, headers: [.ifNoneMatch: etag]).status == .notModified)

            func listStatus() async throws -> LicenseStatus? {
                let token = try await client.get(path).text
                let jws = try CompactJWS(token)
                let lst = try #require(jws.payload["status_list"]?["lst"]?.string)
                return try StatusList(bits: 2, lst: lst).status(at: Int(try #require(entry["idx"]?.integer)))
            }
            func verdict(_ copyIndex: Int) async throws -> String? {
                let challenge = try await client.nonce(kiosk)
                let answer = try await client.verify(
                    try present(license, copy: copyIndex, fields: ["name"], to: challenge, key: phone.key), as: kiosk)
                return answer.status == .ok ? "ok" : answer.problemCode
            }

            let suspended = try await client.setStatus(license.id, "suspended", as: police)
            #expect(suspended.status == .ok)
            #expect(try suspended.json(License.self).state == .suspended)
            #expect(try await listStatus() == .suspended)
            #expect(try await client.execute(uri: path, method: .get, headers: [.ifNoneMatch: etag]).status == .ok, "a changed list has a new ETag")
            #expect(try await verdict(1) == "license_suspended")

            #expect(try await client.setStatus(license.id, "valid", as: admin).status == .ok)
            #expect(try await listStatus() == .valid)
            #expect(try await verdict(1) == "ok")

            #expect(try await client.setStatus(license.id, "revoked", as: police).status == .ok)
            #expect(try await listStatus() == .invalid)
            #expect(try await verdict(2) == "license_revoked")
            let final = try await client.setStatus(license.id, "valid", as: admin)
            #expect(final.status == .conflict && final.problemCode == "invalid_transition", "revocation is final")
            #expect(try await client.setStatus("lic_nope", "revoked", as: admin).status == .notFound)
            let wallet = try await client.get("/v1/wallet/licenses/\(license.id)", token: phone.token).json(License.self)
            #expect(wallet.state == .revoked)
        }
    }

    @Test("A license is a case material only for its holder, of its type, while valid; each use is in the access log", arguments: TestEngine.enabled)
    func licensesAsMaterials(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let (phone, police, license) = try await client.issuedIDCard()
            func apply(_ token: String, type: String = "resident_id_card", id: String = license.id) async throws -> TestResponse {
                try await client.createCase(
                    token,
                    body: [
                        "matterCode": WalletFixture.drivingTestMatter, "materials": [["name": "申请人居民身份证", "eLicenseType": type, "eLicenseId": id]],
                    ])
            }
            let neighbour = try await client.loginCitizen(Demo.citizen2)
            #expect(try await apply(neighbour.accessToken).problemCode == "license_not_held")
            #expect(try await apply(phone.token, type: "driving_license").problemCode == "license_wrong_type")
            #expect(try await apply(phone.token, id: "lic_forged").problemCode == "license_not_held")
            let used = try await apply(phone.token)
            #expect(used.status == .created || used.status == .ok, "\(used.text)")
            let log = try await client.get("/v1/wallet/access-log", token: phone.token).json(AccessLogPage.self)
            #expect(log.items.map(\.action) == [.usedAsMaterial])
            #expect(log.items.first?.party == "杭州市公安局交通警察支队" && log.items.first?.licenseId == license.id && log.items.first?.caseId != nil)

            #expect(try await client.setStatus(license.id, "suspended", as: police).status == .ok)
            #expect(try await apply(phone.token).problemCode == "license_not_usable")
        }
    }

    @Test(
        "A rotated issuer key stops signing but keeps verifying what it signed; lists are re-signed with the new key", arguments: TestEngine.enabled)
    func keyRotation(engine: TestEngine) async throws {
        try await withTestAppDatabase(engine) { client, database in
            let phone = try await client.walletPhone()
            let police = try await client.loginStaff(WalletFixture.police).accessToken
            let neighbour = try await client.walletPhone(Demo.citizen2)
            let old = try await client.approvedIDCard(phone, clerk: police)
            let kiosk = try await client.loginStaff(Demo.kiosk).accessToken
            // Verified once before the rotation, so the server holds the keys of then.
            let before = try await client.verify(
                try present(old, copy: 3, fields: ["name"], to: try await client.nonce(kiosk), key: phone.key), as: kiosk)
            #expect(before.status == .ok, "\(before.text)")
            // Rotated elsewhere (another instance's store): the server learns the new key from the first license it signed.
            let store = IssuerKeyStore(database: database, publicBaseURL: "https://onetrip.hangzhou.gov.cn", runtime: .live)
            let newKID = try await store.rotate("hz-public-security")
            let statusLists = StatusListStore(keys: store, runtime: .live)
            #expect(try await statusLists.refreshStale() >= 1, "a list signed by the retired key is re-signed")
            #expect(try await statusLists.refreshStale() == 0)
            let new = try await client.approvedIDCard(neighbour, clerk: police)
            let kid = { (license: License) in try CompactJWS(try #require(license.copies[0].split(separator: "~").first)).header["kid"]?.string }
            #expect(try kid(new) == newKID)
            #expect(try kid(old) != newKID)
            let jwks = try await client.get("/v1/issuers/hz-public-security/jwks").json(Components.Schemas.JWKSet.self)
            #expect(jwks.keys.count == 2, "the retired key stays published")
            for (license, holder) in [(new, neighbour), (old, phone)] {
                let challenge = try await client.nonce(kiosk)
                let answer = try await client.verify(try present(license, fields: ["name"], to: challenge, key: holder.key), as: kiosk)
                #expect(answer.status == .ok, "\(answer.text)")
            }
        }
    }

    @Test(
        "A standards wallet takes a license through OpenID4VCI: offer, single-use code and token, proof with a fresh nonce",
        arguments: TestEngine.enabled)
    func openID4VCI(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let (phone, police, license) = try await client.issuedIDCard()
            let metadata = try await client.get("/.well-known/openid-credential-issuer").json([String: JSONValue].self)
            let issuer = try #require(metadata["credential_issuer"]?.string)
            #expect(metadata["credential_configurations_supported"]?["resident_id_card"]?["format"] == "dc+sd-jwt")
            #expect(metadata["credential_endpoint"]?.string == issuer + "/v1/oid4vci/credential")

            let offered = try await client.post("/v1/wallet/licenses/\(license.id)/offer", json: [:] as [String: String], token: phone.token)
            #expect(offered.status == .created, "\(offered.text)")
            let offer = try offered.json([String: JSONValue].self)
            #expect(offer["credentialOfferUri"]?.string?.hasPrefix("openid-credential-offer://?credential_offer=") == true)
            let code = try #require(
                offer["credentialOffer"]?["grants"]?["urn:ietf:params:oauth:grant-type:pre-authorized_code"]?["pre-authorized_code"]?.string)
            #expect(offer["credentialOffer"]?["credential_configuration_ids"] == .array(["resident_id_card"]))
            let neighbour = try await client.loginCitizen(Demo.citizen2)
            #expect(
                try await client.post("/v1/wallet/licenses/\(license.id)/offer", json: [:] as [String: String], token: neighbour.accessToken).status
                    == .notFound)

            func redeem(_ code: String) async throws -> TestResponse {
                let form = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code&pre-authorized_code=\(code)"
                return try await client.execute(
                    uri: "/v1/oid4vci/token", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                    body: ByteBuffer(string: form))
            }
            let tokenAnswer = try await redeem(code)
            #expect(tokenAnswer.status == .ok, "\(tokenAnswer.text)")
            #expect(tokenAnswer.headers[.cacheControl] == "no-store")
            let accessToken = try #require(try tokenAnswer.json([String: JSONValue].self)["access_token"]?.string)
            #expect(try await redeem(code).json([String: String].self)["error"] == "invalid_grant", "a code is redeemed once")
            let malformed = try await client.execute(
                uri: "/v1/oid4vci/token", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"], body: ByteBuffer(string: "x=1")
            )
            #expect(malformed.status == .badRequest && malformed.headers[.contentType] == "application/json")
            #expect(try malformed.json([String: String].self)["error"] == "invalid_request", "an undecodable request is OAuth's invalid_request")

            let walletKey = P256.Signing.PrivateKey()
            func nonce() async throws -> String {
                try #require(try await client.post("/v1/oid4vci/nonce", json: [:] as [String: String]).json([String: String].self)["c_nonce"])
            }
            func proof(nonce: String, aud: String = issuer, iat: Int64 = Int64(Date().timeIntervalSince1970), typ: String = "openid4vci-proof+jwt")
                throws -> String
            {
                try CompactJWS.sign(
                    header: ["alg": "ES256", "typ": .string(typ), "jwk": ECPublicJWK(walletKey.publicKey).json],
                    payload: ["aud": .string(aud), "iat": .integer(iat), "nonce": .string(nonce)], with: walletKey)
            }
            func request(_ proof: String, token: String = accessToken) async throws -> TestResponse {
                try await client.post(
                    "/v1/oid4vci/credential", json: ["credential_configuration_id": "resident_id_card", "proofs": ["jwt": [proof]]], token: token)
            }
            func error(_ answer: TestResponse) throws -> String? { try answer.json([String: String].self)["error"] }
            #expect(try error(try await request(try proof(nonce: try await nonce(), aud: "https://elsewhere.example"))) == "invalid_proof")
            #expect(try error(try await request(try proof(nonce: try await nonce(), iat: 1_000_000_000))) == "invalid_proof")
            #expect(try error(try await request(try proof(nonce: try await nonce(), typ: "JWT"))) == "invalid_proof")
            #expect(try error(try await request(try proof(nonce: "made-up"))) == "invalid_nonce", "and the token is not spent by it")
            #expect(try await request(try proof(nonce: try await nonce()), token: phone.token).status == .unauthorized)

            let issued = try await request(try proof(nonce: try await nonce()))
            #expect(issued.status == .ok, "\(issued.text)")
            let credential = try #require(try issued.json([String: [[String: String]]].self)["credentials"]?.first?["credential"])
            let jws = try CompactJWS(try #require(credential.split(separator: "~").first))
            #expect(ECPublicJWK(jws.payload["cnf"]?["jwk"]) == ECPublicJWK(walletKey.publicKey), "bound to the wallet's key")
            #expect(jws.header["typ"] == "dc+sd-jwt" && jws.payload["vct"]?.string == license.vct)
            #expect(try error(try await request(try proof(nonce: try await nonce()))) == "invalid_token", "a token serves one credential")

            // The exported copy verifies like the others, and follows the license's status.
            let kiosk = try await client.loginStaff(Demo.kiosk).accessToken
            let exported = License(
                id: license.id, type: license.type, typeName: license.typeName, vct: license.vct, departmentId: license.departmentId,
                issuer: license.issuer, fields: license.fields, issuedAt: license.issuedAt, copies: [credential])
            let challenge = try await client.nonce(kiosk)
            #expect(try await client.verify(try present(exported, fields: ["name"], to: challenge, key: walletKey), as: kiosk).status == .ok)
            #expect(try await client.setStatus(license.id, "revoked", as: police).status == .ok)
            let again = try await client.nonce(kiosk)
            #expect(
                try await client.verify(try present(exported, fields: ["name"], to: again, key: walletKey), as: kiosk).problemCode
                    == "license_revoked")
            let log = try await client.get("/v1/wallet/access-log", token: phone.token).json(AccessLogPage.self)
            #expect(log.items.contains { $0.action == .exported && $0.licenseId == license.id })
            // A revoked license is offered to no one.
            let refused = try await client.post("/v1/wallet/licenses/\(license.id)/offer", json: [:] as [String: String], token: phone.token)
            #expect(refused.status == .unprocessableContent && refused.problemCode == "license_not_usable")
        }
    }

    @Test(
        "A kiosk that synced the public scope verifies a presentation with the network cut, and says how old its status is",
        arguments: TestEngine.enabled)
    func offlineKiosk(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let (phone, police, license) = try await client.issuedIDCard()
            let kioskSession = try await client.loginStaff(Demo.kiosk).accessToken
            let link = RouterSyncTransport(client: client, token: kioskSession)
            let kiosk = try Replica(path: nil)
            try await SyncEngine(replica: kiosk, transport: link.transport).sync()
            #expect(try kiosk.entities(IssuerPublicKey.self, in: .public).contains { $0.departmentId == "hz-public-security" })

            link.online = false
            let now = Int64(Date().timeIntervalSince1970)
            let verifier = try OfflineVerifier(replica: kiosk, audience: "kiosk.city-01", now: now)
            #expect((verifier.statusAge(now: now) ?? .max) < 120, "its lists are fresh")
            let nonce = verifier.nonce(now: now)
            let presentation = try present(license, fields: ["name"], to: (nonce, "kiosk.city-01"), key: phone.key)
            let verified = try verifier.verify(presentation, now: now)
            #expect(verified.disclosed == ["name": "王建国"] && verified.issuer == license.issuer)
            #expect(throws: PresentationRejection.keyBindingNonce) { try verifier.verify(presentation, now: now) }
            #expect(throws: PresentationRejection.keyBindingNonce) {
                try verifier.verify(try present(license, copy: 1, fields: ["name"], to: ("not-mine", "kiosk.city-01"), key: phone.key), now: now)
            }
            // A day and more later, the lists it holds are too old to trust: it fails closed.
            let later = now + 25 * 3600
            let stale = try OfflineVerifier(replica: kiosk, audience: "kiosk.city-01", now: later)
            let late = stale.nonce(now: later)
            let presentedLate = try SDJWT.present(
                license.copies[2], fields: ["name"], audience: "kiosk.city-01", nonce: late, issuedAt: later, holderKey: phone.key)
            #expect(throws: PresentationRejection.statusUnknown) { try stale.verify(presentedLate, now: later) }

            // Back online after a revocation, the kiosk learns it through sync.
            #expect(try await client.setStatus(license.id, "revoked", as: police).status == .ok)
            link.online = true
            try await SyncEngine(replica: kiosk, transport: link.transport).sync()
            let refreshed = try OfflineVerifier(replica: kiosk, audience: "kiosk.city-01", now: now)
            let again = refreshed.nonce(now: now)
            #expect(throws: PresentationRejection.revoked) {
                try refreshed.verify(try present(license, copy: 3, fields: ["name"], to: (again, "kiosk.city-01"), key: phone.key), now: now)
            }
        }
    }

    @Test("Unknown issuers and lists are 404; hostile ids never reach SQL", arguments: TestEngine.enabled)
    func publicRoutes(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let keys = try await client.get("/v1/issuers/hz-public-security/jwks")
            #expect(keys.status == .ok, "keys exist from the first start")
            #expect(try await client.get("/v1/issuers/nobody/jwks").status == .notFound)
            #expect(try await client.get("/v1/status-lists/nobody.000001").status == .notFound)
            #expect(try await client.get("/v1/status-lists/%00").status == .notFound)
            #expect(try await client.get("/v1/wallet/licenses").status == .unauthorized)
        }
    }
}

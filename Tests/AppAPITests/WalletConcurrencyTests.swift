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

/// On PostgreSQL, concurrent issuance, status changes and nonce use decide on what they locked.
@Suite struct WalletConcurrencyTests {
    @Test(
        "Concurrent approvals in one department draw distinct status entries; a nonce verifies once under racing verifiers",
        arguments: TestEngine.enabled)
    func concurrentIssuanceAndNonces(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let phone = try await client.walletPhone()
            let police = try await client.loginStaff(WalletFixture.police).accessToken
            var ids: [String] = []
            for _ in 0..<6 {
                let created = try await client.createCase(phone.token, body: ["matterCode": WalletFixture.idCardMatter])
                let id = try #require(try created.json(Components.Schemas.CaseList.self).items.first?.id)
                for action in ["accept", "startReview"] { #expect(try await client.act(police, id, action).status == .ok) }
                ids.append(id)
            }
            try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for id in ids { group.addTask { try await client.act(police, id, "approve").status } }
                for try await status in group { #expect(status == .ok) }
            }
            let licenses = try await client.get("/v1/wallet/licenses", token: phone.token).json(LicenseList.self).items
                .filter { $0.caseId.map(ids.contains) ?? false }
            #expect(licenses.count == 6)
            // Each approval replaced the card before it, one at a time: exactly one is left valid.
            let valid = licenses.filter { $0.state == .valid }
            #expect(valid.count == 1 && licenses.filter { $0.state == .superseded }.count == 5, "\(licenses.map(\.state))")
            let entries = try licenses.flatMap(\.copies).map { copy in
                let jws = try CompactJWS(try #require(copy.split(separator: "~").first))
                return
                    "\(jws.payload["status"]?["status_list"]?["uri"]?.string ?? "")#\(jws.payload["status"]?["status_list"]?["idx"]?.integer ?? -1)"
            }
            #expect(Set(entries).count == 24, "every copy its own entry")

            let kiosk = try await client.loginStaff(Demo.kiosk).accessToken
            let challenge = try await client.nonce(kiosk)
            let presentation = try present(try #require(valid.first), fields: ["name"], to: challenge, key: phone.key)
            let results = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<6 { group.addTask { try await client.verify(presentation, as: kiosk).status } }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            #expect(results.filter { $0 == .ok }.count == 1 && results.filter { $0 == .unprocessableContent }.count == 5, "\(results)")
        }
    }

    @Test("A suspension racing a revocation: the license and its published list agree on the outcome", arguments: TestEngine.enabled)
    func racingStatusChanges(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let phone = try await client.walletPhone()
            let police = try await client.loginStaff(WalletFixture.police).accessToken
            let admin = try await client.loginStaff(Demo.admin).accessToken
            for _ in 0..<4 {
                let license = try await client.approvedIDCard(phone, clerk: police)
                async let suspend = client.setStatus(license.id, "suspended", as: police)
                async let revoke = client.setStatus(license.id, "revoked", as: admin)
                _ = (try await suspend.status, try await revoke.status)
                let final = try await client.get("/v1/wallet/licenses/\(license.id)", token: phone.token).json(License.self)
                let copy = try CompactJWS(try #require(license.copies[0].split(separator: "~").first))
                let entry = try #require(copy.payload["status"]?["status_list"])
                let uri = try #require(entry["uri"]?.string)
                let token = try await client.get(String(uri[try #require(uri.range(of: "/v1/status-lists/")).lowerBound...])).text
                let lst = try #require(try CompactJWS(token).payload["status_list"]?["lst"]?.string)
                let listed = try StatusList(bits: 2, lst: lst).status(at: Int(try #require(entry["idx"]?.integer)))
                #expect(final.state == .revoked, "revocation wins whichever came first: a suspended license can still be revoked")
                #expect(listed == .invalid)
            }
        }
    }
}

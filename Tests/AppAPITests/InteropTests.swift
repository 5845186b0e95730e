import Crypto
import Foundation
import OneTripAPI
import SyncCore
import TestSupport
import Testing

@testable import AppAPI

/// Our access tokens verified by independent implementations — libjwt (C, Debian's libjwt-dev) and joserfc
/// (Python) — using nothing but the published JWKS. `scripts/test` provides both and sets
/// `APPAPI_TEST_REQUIRE_INTEROP=1`, so there the tools' absence is a failure rather than a skip.
@Suite(.serialized) struct InteropTests {
    static let python = repositoryRoot.appendingPathComponent(".venv/bin/python").path
    static let required = ProcessInfo.processInfo.environment["APPAPI_TEST_REQUIRE_INTEROP"] == "1"
    static let available = FileManager.default.isExecutableFile(atPath: python) && FileManager.default.fileExists(atPath: "/usr/include/jwt.h")

    @Test(.enabled(if: available || required))
    func libjwtAndJoserfcVerifyOurAccessTokensFromTheJWKS() async throws {
        try #require(Self.available, "interop tools missing: run scripts/setup --with-test-tools (needs libjwt-dev and .venv)")
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("onetrip-interop-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let verifier = work.appendingPathComponent("verify_libjwt").path
        let compiled = try await run(
            "/usr/bin/env", ["cc", "-O2", repositoryRoot.appendingPathComponent("Tests/interop/verify_libjwt.c").path, "-ljwt", "-o", verifier])
        try #require(compiled.status == 0, "cc failed: \(compiled.stderr)")

        try await withTestApp(.sqlite) { client in
            let session = try await client.loginCitizen()
            let jwksText = try await client.get("/.well-known/jwks.json").text
            let jwks = try JSONDecoder().decode(Components.Schemas.JWKSet.self, from: Data(jwksText.utf8))
            let kid = try #require(JOSEHeader.parse(session.accessToken).kid)
            let jwk = try #require(jwks.keys.first { $0.kid == kid })
            // libjwt takes a PEM: derive it from the published JWK, nothing else.
            let point = Data([0x04]) + decodeBase64URL(jwk.x)! + decodeBase64URL(jwk.y)!
            let pem = try P256.Signing.PublicKey(x963Representation: point).pemRepresentation
            let files = (
                token: work.appendingPathComponent("token"), tampered: work.appendingPathComponent("tampered"),
                jwks: work.appendingPathComponent("jwks.json"), pem: work.appendingPathComponent("key.pem")
            )
            try session.accessToken.write(to: files.token, atomically: true, encoding: .utf8)
            try jwksText.write(to: files.jwks, atomically: true, encoding: .utf8)
            try pem.write(to: files.pem, atomically: true, encoding: .utf8)
            var parts = session.accessToken.split(separator: ".").map(String.init)
            var claims = try JSONSerialization.jsonObject(with: decodeBase64URL(parts[1])!) as! [String: Any]
            claims["sub"] = "acc_someone_else"
            parts[1] = base64URL(try JSONSerialization.data(withJSONObject: claims))
            try parts.joined(separator: ".").write(to: files.tampered, atomically: true, encoding: .utf8)

            let libjwt = try await run(verifier, [files.token.path, files.pem.path])
            #expect(libjwt.status == 0, "libjwt refused our token: \(libjwt.stderr)")
            #expect(libjwt.stdout.contains(session.account.id))
            let joserfc = try await run(
                Self.python, [repositoryRoot.appendingPathComponent("Tests/interop/verify_joserfc.py").path, files.token.path, files.jwks.path])
            #expect(joserfc.status == 0, "joserfc refused our token: \(joserfc.stderr)")
            #expect(joserfc.stdout.contains(session.account.id))

            #expect(try await run(verifier, [files.tampered.path, files.pem.path]).status != 0, "libjwt accepted a tampered token")
            let tamperedJoserfc = try await run(
                Self.python, [repositoryRoot.appendingPathComponent("Tests/interop/verify_joserfc.py").path, files.tampered.path, files.jwks.path])
            #expect(tamperedJoserfc.status != 0, "joserfc accepted a tampered token")
        }
    }

    @Test(.enabled(if: available || required))
    func joserfcAndHashlibVerifyOurLicensePresentations() async throws {
        try #require(Self.available, "interop tools missing: run scripts/setup --with-test-tools (needs .venv)")
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("onetrip-sdjwt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let issuerKey = P256.Signing.PrivateKey()
        let holderKey = P256.Signing.PrivateKey()
        let license = try SDJWT.issue(
            visible: [
                "iss": "11330100002500287D", "vct": "urn:onetrip:license:residence-permit", "iat": .integer(1_790_000_000),
                "exp": .integer(1_890_000_000), "cnf": .object(["jwk": ECPublicJWK(holderKey.publicKey).json]),
            ],
            disclosable: ["name": "王小明", "id_number": "330106198503124811", "address": "杭州市西湖区文三路 1 号"], keyID: "dept-k1", key: issuerKey)
        let presentation = try SDJWT.present(
            license, fields: ["name", "address"], audience: "verifier-01", nonce: "n-42", issuedAt: 1_790_000_000, holderKey: holderKey)
        let jwk = work.appendingPathComponent("issuer.jwk")
        try JSONEncoder().encode(ECPublicJWK(issuerKey.publicKey)).write(to: jwk)
        let script = repositoryRoot.appendingPathComponent("Tests/interop/verify_sdjwt.py").path
        func verify(_ text: String) async throws -> (status: Int32, stdout: String, stderr: String) {
            let file = work.appendingPathComponent("presentation-\(UUID().uuidString).txt")
            try Data(text.utf8).write(to: file)
            return try await run(Self.python, [script, file.path, jwk.path, "verifier-01", "n-42"])
        }
        let accepted = try await verify(presentation)
        #expect(accepted.status == 0, "the independent verifier refused our presentation: \(accepted.stderr)")
        let disclosed = try JSONSerialization.jsonObject(with: Data(accepted.stdout.utf8)) as? [String: String]
        #expect(disclosed == ["name": "王小明", "address": "杭州市西湖区文三路 1 号"], "exactly the chosen fields")
        // A disclosure swapped for one the issuer never signed.
        let parts = presentation.split(separator: "~", omittingEmptySubsequences: false)
        let forged = try SDJWT.Disclosure(name: "name", value: "李四")
        let tampered = ([parts[0], Substring(forged.encoded)] + parts.dropFirst(2)).joined(separator: "~")
        let refused = try await verify(tampered)
        #expect(
            refused.status == 1 && refused.stderr.contains("not referenced"), "the independent verifier accepted a tampered disclosure: \(refused)")
    }

    /// A license the server issued on approval, checked with nothing but what it publishes: the openssl CLI verifies
    /// the issuer signature from the department's JWKS (as PEM), the joserfc verifier a presentation of it.
    @Test(.enabled(if: available || required))
    func opensslAndJoserfcVerifyAnIssuedLicense() async throws {
        try #require(Self.available, "interop tools missing: run scripts/setup --with-test-tools (needs .venv)")
        try await withTestApp(.sqlite) { client in
            let phone = try await client.walletPhone()
            let license = try await client.approvedIDCard(phone, clerk: try await client.loginStaff(WalletFixture.police).accessToken)
            let jwks = try await client.get("/v1/issuers/hz-public-security/jwks").json(Components.Schemas.JWKSet.self)
            let jwk = try #require(jwks.keys.first)
            let key = try #require(ECPublicJWK(.object(["kty": "EC", "crv": "P-256", "x": .string(jwk.x), "y": .string(jwk.y)]))?.publicKey)
            let work = FileManager.default.temporaryDirectory.appendingPathComponent("onetrip-license-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: work) }

            let jwt = try #require(license.copies[0].split(separator: "~").first)
            let parts = jwt.split(separator: ".")
            let signature = try P256.Signing.ECDSASignature(rawRepresentation: try #require(decodeStrictBase64URL(parts[2])))
            let (pem, input, der) = (
                work.appendingPathComponent("issuer.pem"), work.appendingPathComponent("input"), work.appendingPathComponent("sig")
            )
            try Data(key.pemRepresentation.utf8).write(to: pem)
            try Data("\(parts[0]).\(parts[1])".utf8).write(to: input)
            try signature.derRepresentation.write(to: der)
            let openssl = try await run("/usr/bin/openssl", ["dgst", "-sha256", "-verify", pem.path, "-signature", der.path, input.path])
            #expect(openssl.status == 0 && openssl.stdout.contains("Verified OK"), "openssl: \(openssl)")
            try Data("\(parts[0]).\(parts[1])x".utf8).write(to: input)
            #expect(try await run("/usr/bin/openssl", ["dgst", "-sha256", "-verify", pem.path, "-signature", der.path, input.path]).status != 0)

            let presentation = try SDJWT.present(
                license.copies[1], fields: ["name", "birth_date"], audience: "verifier-01", nonce: "n-42",
                issuedAt: Int64(Date().timeIntervalSince1970), holderKey: phone.key)
            let file = work.appendingPathComponent("presentation.txt")
            try Data(presentation.utf8).write(to: file)
            let jwkFile = work.appendingPathComponent("issuer.jwk")
            try JSONEncoder().encode(ECPublicJWK(key)).write(to: jwkFile)
            let verified = try await run(
                Self.python,
                [repositoryRoot.appendingPathComponent("Tests/interop/verify_sdjwt.py").path, file.path, jwkFile.path, "verifier-01", "n-42"])
            #expect(verified.status == 0, "\(verified.stderr)")
            let disclosed = try JSONSerialization.jsonObject(with: Data(verified.stdout.utf8)) as? [String: String]
            #expect(disclosed == ["name": "王建国", "birth_date": "1985-03-12"])
        }
    }

    @Test(.enabled(if: available || required))
    func pythonsZlibDecodesOurStatusLists() async throws {
        try #require(Self.available, "interop tools missing: run scripts/setup --with-test-tools (needs .venv)")
        var list = try StatusList(count: 10_000)
        for index in stride(from: 3, to: 10_000, by: 97) { try list.set(index, to: index % 2 == 0 ? 1 : 2) }
        let decode = "import base64,sys,zlib; s=sys.argv[1]; print(zlib.decompress(base64.urlsafe_b64decode(s+'='*(-len(s)%4))).hex())"
        let decoded = try await run(Self.python, ["-c", decode, list.lst])
        #expect(decoded.status == 0, "\(decoded.stderr)")
        #expect(decoded.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == list.bytes.map { String(format: "%02x", $0) }.joined())
    }

    private func run(_ executable: String, _ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
        try await ChildProcess.run(executable, arguments, timeout: .seconds(60))
    }
}

import Crypto
import Foundation
import Histogram
import SyncCore

/// The wallet budgets, in-process on one thread and without a server: how fast SyncCore issues a license and
/// verifies a presentation of it as an offline kiosk does, and the kiosk's latency per presentation. The license is
/// a 营业执照 with its 11 fields disclosable, bound to a holder key and carrying a status entry in a 1,000,000-entry
/// list with 1% revoked; a presentation discloses 3 fields and ends in a KB-JWT.
enum WalletBench {
    struct Result {
        var issued: Int
        var issueSeconds: Double
        var licenseBytes: Int
        var verified: Int
        var verifySeconds: Double
        var presentationBytes: Int
        /// Nanoseconds per kiosk verification.
        var latency: Histogram<UInt64>
        var statusTokenBytes: Int
        var statusTokenMillis: Double

        var issueRate: Double { Double(issued) / issueSeconds }
        var verifyRate: Double { Double(verified) / verifySeconds }
        func percentileMillis(_ p: Double) -> Double { Double(latency.valueAtPercentile(p)) / 1_000_000 }
    }

    static let issuer = "https://onetrip.hangzhou.gov.cn/issuers/hz-market-supervision"
    static let keyID = "hz-market-supervision-2026-1"
    static let statusURI = "https://onetrip.hangzhou.gov.cn/v1/status-lists/hz-market-supervision-1"
    static let audience = "kiosk-xihu-01"
    static let listSize = 1_000_000
    static let disclosed: Set<String> = ["name", "credit_code", "legal_representative"]
    /// The 营业执照 of a demo enterprise, with the claim names of `seeds/license-types.json`.
    static let fields: [String: JSONValue] = [
        "credit_code": "91330106MA2H7K3Q0L", "name": "杭州云栖数智科技有限公司", "entity_type": "有限责任公司（自然人投资或控股）",
        "legal_representative": "王建国", "registered_capital": "1000万元人民币", "established_on": "2020-03-18",
        "business_term": "2020-03-18至长期", "address": "浙江省杭州市西湖区转塘街道云栖小镇云栖路89号3幢5层501室",
        "business_scope": .string(
            "一般项目：技术服务、技术开发、技术咨询、技术交流、技术转让、技术推广；软件开发；信息系统集成服务；数据处理服务；"
                + "人工智能应用软件开发（除依法须经批准的项目外，凭营业执照依法自主开展经营活动）。"),
        "registration_authority": "杭州市西湖区市场监督管理局", "approved_on": "2024-09-12",
    ]

    /// The clear claims of a license bound to `holder` with status entry `index`.
    static func visible(holder: P256.Signing.PublicKey, index: Int, now: Int64) -> [String: JSONValue] {
        [
            "iss": .string(issuer), "vct": "urn:onetrip:license:business_license", "iat": .integer(now - 86_400),
            "exp": .integer(now + 5 * 365 * 86_400), "cnf": .object(["jwk": ECPublicJWK(holder).json]),
            "status": .object(["status_list": .object(["idx": .integer(Int64(index)), "uri": .string(statusURI)])]),
        ]
    }

    static func run(duration: Duration) throws -> Result {
        let clock = ContinuousClock()
        let now = Int64(Date().timeIntervalSince1970)
        let issuerKey = P256.Signing.PrivateKey()
        let trusted = [PresentationVerifier.IssuerKey(keyID: keyID, issuer: issuer, key: issuerKey.publicKey)]

        // The department's list: a million entries, 1% revoked, signed; the kiosk verifies and inflates it once.
        var list = try StatusList(count: listSize)
        var revoked = Set<Int>()
        while revoked.count < listSize / 100 { revoked.insert(Int.random(in: 0..<listSize)) }
        for index in revoked { try list.set(index, to: LicenseStatus.invalid.rawValue) }
        let token = try StatusListToken(list: list, uri: statusURI, issuedAt: now - 60, timeToLive: 3_600)
            .signed(issuer: issuer, keyID: keyID, key: issuerKey)
        let tokenStart = clock.now
        let held = try StatusListToken(verifying: token, keys: Dictionary(uniqueKeysWithValues: trusted.map { ($0.keyID, $0) }))
        let tokenMillis = seconds(clock.now - tokenStart) * 1000
        let verifier = PresentationVerifier(
            keys: trusted, policy: .init(audience: audience),
            status: PresentationVerifier.offlineStatus([held], now: now, maxAge: 86_400))

        // Issue rate: one holder's license, issued again and again (each with fresh salts).
        let holder = P256.Signing.PrivateKey()
        let claims = visible(holder: holder.publicKey, index: 7, now: now)
        var issued = 0
        var licenseBytes = 0
        let issueStart = clock.now
        let issueDeadline = issueStart + duration
        repeat {
            licenseBytes = try SDJWT.issue(visible: claims, disclosable: fields, keyID: keyID, key: issuerKey).utf8.count
            issued += 1
        } while clock.now < issueDeadline
        let issueSeconds = seconds(clock.now - issueStart)

        // 100 holders' licenses at valid entries, 10 presentations each, every one with its own nonce.
        var presentations: [(text: String, nonce: String)] = []
        for _ in 0..<100 {
            let key = P256.Signing.PrivateKey()
            var index = Int.random(in: 0..<listSize)
            while revoked.contains(index) { index = Int.random(in: 0..<listSize) }
            let license = try SDJWT.issue(
                visible: visible(holder: key.publicKey, index: index, now: now), disclosable: fields, keyID: keyID, key: issuerKey)
            for _ in 0..<10 {
                let nonce = base64URL(SymmetricKey(size: .bits128).withUnsafeBytes { Data($0) })
                let text = try SDJWT.present(license, fields: disclosed, audience: audience, nonce: nonce, issuedAt: now, holderKey: key)
                presentations.append((text, nonce))
            }
        }
        try checkOnce(presentations[0], verifier: verifier, issuerKey: issuerKey, revoked: revoked.first!, now: now)

        // Verify rate and kiosk latency: every presentation's nonce is outstanding once per round, as a kiosk that
        // handed it out holds it; refilling them between rounds is not timed.
        var latency = Histogram<UInt64>(highestTrackableValue: 10_000_000_000, numberOfSignificantValueDigits: .three)
        var verified = 0
        var busy = Duration.zero
        var outstanding = Set<String>()
        while busy < duration {
            outstanding.formUnion(presentations.map(\.nonce))
            for presentation in presentations {
                let began = clock.now
                let result = try verifier.verify(presentation.text, now: now) { outstanding.remove($0) != nil }
                let elapsed = clock.now - began
                guard result.disclosed.count == disclosed.count else { throw CLIError.local("wallet bench: a presentation lost a disclosure") }
                busy += elapsed
                _ = latency.record(UInt64(max(1, nanoseconds(elapsed))))
                verified += 1
            }
        }
        return Result(
            issued: issued, issueSeconds: issueSeconds, licenseBytes: licenseBytes, verified: verified, verifySeconds: seconds(busy),
            presentationBytes: presentations[0].text.utf8.count, latency: latency, statusTokenBytes: token.utf8.count,
            statusTokenMillis: tokenMillis)
    }

    /// The measured path must be the real one: a presentation verifies with its 3 fields, the same nonce is refused
    /// the second time, and a license at a revoked entry is refused as revoked.
    private static func checkOnce(
        _ presentation: (text: String, nonce: String), verifier: PresentationVerifier, issuerKey: P256.Signing.PrivateKey, revoked: Int, now: Int64
    ) throws {
        var outstanding: Set<String> = [presentation.nonce]
        let verified = try verifier.verify(presentation.text, now: now) { outstanding.remove($0) != nil }
        guard Set(verified.disclosed.keys) == disclosed else {
            throw CLIError.local("wallet bench: the presentation does not disclose \(disclosed.sorted())")
        }
        do {
            _ = try verifier.verify(presentation.text, now: now) { outstanding.remove($0) != nil }
            throw CLIError.local("wallet bench: a nonce was accepted twice")
        } catch let rejection as PresentationRejection where rejection == .keyBindingNonce {}
        let key = P256.Signing.PrivateKey()
        let license = try SDJWT.issue(
            visible: visible(holder: key.publicKey, index: revoked, now: now), disclosable: fields, keyID: keyID, key: issuerKey)
        let shown = try SDJWT.present(license, fields: disclosed, audience: audience, nonce: "n", issuedAt: now, holderKey: key)
        do {
            _ = try verifier.verify(shown, now: now) { $0 == "n" }
            throw CLIError.local("wallet bench: a revoked license verified")
        } catch let rejection as PresentationRejection where rejection == .revoked {}
    }

    static func report(_ result: Result) {
        print(
            "wallet (in-process, one thread): a 营业执照, \(fields.count) disclosable claims, holder-bound, status in a 1,000,000-entry list (1% revoked)"
        )
        print(
            String(
                format: "  issue: %.0f licenses/s   (%d in %.1f s, %d bytes each)", result.issueRate, result.issued, result.issueSeconds,
                result.licenseBytes))
        print(
            String(
                format: "  verify: %.0f presentations/s   (KB-JWT, %d disclosures, offline status; %d in %.1f s, %d bytes each)", result.verifyRate,
                disclosed.count, result.verified, result.verifySeconds, result.presentationBytes))
        let p99 = result.percentileMillis(99)
        print(
            String(
                format: "  kiosk verification: p50 %.3f ms   p90 %.3f ms   p99 %.3f ms   max %.3f ms (budget p99 ≤ 5 ms) %@",
                result.percentileMillis(50),
                result.percentileMillis(90), p99, result.percentileMillis(100), p99 <= 5 ? "PASS" : "MISS"))
        print(
            String(
                format: "  status list token: %.1f KB, verified and inflated once in %.1f ms", Double(result.statusTokenBytes) / 1024,
                result.statusTokenMillis))
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

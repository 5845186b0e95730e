import Foundation
import JWTKit
import SyncCore

/// The claims of an access token. Header `typ: JWT` (Debian's libjwt 1.10 refuses anything else), so the token
/// kind travels in `token_use` and in a key set used for nothing else.
struct AccessClaims: JWTPayload, Equatable {
    static let issuer = "https://onetrip.hangzhou.gov.cn"
    static let audience = "onetrip-app"
    static let tokenUse = "access"
    /// How far a token's `iat` may lie ahead of this server's clock (another instance's clock may run ahead).
    static let issuedAtSkew: TimeInterval = 60
    /// How long past `exp` this server still honours a token: only clock jitter between instances, so a token
    /// stops working within seconds of its expiry.
    static let expirySkew: TimeInterval = 5

    var iss: IssuerClaim
    var aud: AudienceClaim
    var sub: SubjectClaim
    var exp: ExpirationClaim
    var iat: IssuedAtClaim
    var jti: IDClaim
    var role: String
    var did: String
    var tokenUse: String
    var dept: String?
    var center: String?

    enum CodingKeys: String, CodingKey {
        case iss, aud, sub, exp, iat, jti, role, did, dept, center
        case tokenUse = "token_use"
    }

    /// Called by jwt-kit after the signature checked out.
    func verify(using algorithm: some JWTAlgorithm) async throws {
        try validate(now: Date())
    }

    func validate(now: Date) throws {
        guard iss.value == Self.issuer else { throw TokenRejection.wrongIssuer }
        guard aud.value.contains(Self.audience) else { throw TokenRejection.wrongAudience }
        guard tokenUse == Self.tokenUse else { throw TokenRejection.notAnAccessToken }
        guard exp.value.addingTimeInterval(Self.expirySkew) > now else { throw TokenRejection.expired }
        guard iat.value.addingTimeInterval(-Self.issuedAtSkew) <= now else { throw TokenRejection.notYetValid }
        guard AccountKind(rawValue: role) != nil, !sub.value.isEmpty, !did.isEmpty else { throw TokenRejection.malformed }
    }

    var identity: Identity {
        Identity(accountID: sub.value, kind: AccountKind(rawValue: role)!, deviceID: did, departmentID: dept, centerID: center)
    }
}

/// Why an access token was refused. All of them answer 401 `invalid_token`; the reason goes to the logs.
enum TokenRejection: Error, Equatable {
    case malformed, algorithm, type, missingKID, unknownKID, critical, signature, wrongIssuer, wrongAudience, notAnAccessToken, expired, notYetValid,
        deviceRevoked
}

/// The JOSE header fields we check before any signature work: jwt-kit would otherwise fall back to a default key
/// for a missing `kid`, and does not compare `alg` with the key or honour `crit`.
struct JOSEHeader: Decodable {
    var alg: String?
    var typ: String?
    var kid: String?
    var crit: [String]?

    /// Decodes the first segment of a compact JWS.
    static func parse(_ token: String) throws(TokenRejection) -> JOSEHeader {
        let segments = token.split(separator: ".", omittingEmptySubsequences: false)
        guard segments.count == 3, let data = decodeBase64URL(segments[0]) else { throw .malformed }
        do {
            return try JSONDecoder().decode(JOSEHeader.self, from: data)
        } catch {
            throw .malformed
        }
    }
}

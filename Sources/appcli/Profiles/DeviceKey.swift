import Crypto
import Foundation
import OneTripAPI
import SyncCore

/// The profile's device key (P-256): generated on first use, stored as PEM with mode 0600 and never printed. Its
/// public half is registered at login, so e-licenses can be bound to this device (holder binding).
struct DeviceKey: Sendable {
    let privateKey: P256.Signing.PrivateKey

    /// The key in `url`, or a new one written there.
    static func loadOrCreate(at url: URL) throws -> DeviceKey {
        if let data = FileManager.default.contents(atPath: url.path) {
            do {
                return DeviceKey(privateKey: try P256.Signing.PrivateKey(pemRepresentation: String(decoding: data, as: UTF8.self)))
            } catch {
                throw CLIError.local("\(url.path) is not a P-256 private key; remove it to generate a new device key")
            }
        }
        let key = P256.Signing.PrivateKey()
        try writeAtomically(Data(key.pemRepresentation.utf8), to: url, mode: 0o600)
        return DeviceKey(privateKey: key)
    }

    /// The public key as the JWK the login request carries (`kty: EC`, `crv: P-256`, base64url `x` and `y`).
    var publicJWK: Components.Schemas.PublicJWK {
        let jwk = ECPublicJWK(privateKey.publicKey)
        return Components.Schemas.PublicJWK(kty: .ec, crv: .p256, x: jwk.x, y: jwk.y, use: "sig", alg: "ES256")
    }

    /// RFC 7638 thumbprint of the public key: a short, stable name for it that reveals nothing secret.
    var thumbprint: String {
        let jwk = publicJWK
        let canonical = #"{"crv":"P-256","kty":"EC","x":"\#(jwk.x)","y":"\#(jwk.y)"}"#
        return base64URL(Data(SHA256.hash(data: Data(canonical.utf8))))
    }
}

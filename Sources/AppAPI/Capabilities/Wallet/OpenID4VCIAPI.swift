import Foundation
import OneTripAPI
import SQLKit
import SyncCore

/// OpenID4VCI 1.0 issuance to any standards wallet (pre-authorized code flow, `dc+sd-jwt`): the holder asks for an
/// offer, the wallet redeems the code at the token endpoint, fetches a `c_nonce` and proves possession of its key at
/// the credential endpoint, which issues a copy of the license bound to that key with a status entry of its own.
/// Errors on the OAuth routes are OAuth's `{error, error_description}`, as wallets expect, not problem+json.
extension APIImplementation {
    /// `verifier_id` under which the nonce endpoint's `c_nonce`s are kept (account ids never take this form).
    static let credentialNonceOwner = "openid4vci"

    func createCredentialOffer(_ input: Operations.CreateCredentialOffer.Input) async throws -> Operations.CreateCredentialOffer.Output {
        let me = try await authenticate(AccountRole.applicants)
        let id = input.path.id
        guard PathID.isPlausible(id),
            let license = try await database.read({ db in try await ChangeLog.entity(License.self, id: id, in: .user(me.accountID), on: db) })
        else { throw AppError.notFound("No license \(id.prefix(64)) in your wallet.") }
        guard license.isUsable(at: runtime.nowMillis) else {
            throw AppError(.licenseNotUsable, "License '\(id)' is \(license.state.rawValue) or expired; it cannot be handed to a wallet.")
        }
        let (code, expiresAt) = try await wallet.offers.offer(id, holder: me.accountID)
        let offer = Components.Schemas.CredentialOffer(
            credentialIssuer: wallet.keys.publicBaseURL, credentialConfigurationIds: [license.type],
            grants: .init(urn_colon_ietf_colon_params_colon_oauth_colon_grantType_colon_preAuthorizedCode: .init(preAuthorizedCode: code)))
        let json = String(decoding: try JSONEncoder().encode(offer), as: UTF8.self)
        let uri = "openid-credential-offer://?credential_offer=" + (json.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
        return .created(.init(body: .json(.init(credentialOffer: offer, credentialOfferUri: uri, expiresAt: Int64(expiresAt)))))
    }

    func getCredentialIssuerMetadata(
        _ input: Operations.GetCredentialIssuerMetadata.Input
    ) async throws -> Operations.GetCredentialIssuerMetadata.Output {
        let base = wallet.keys.publicBaseURL
        let types = try await database.read { db in try await ChangeLog.entities(LicenseType.self, in: .public, on: db) }
        var configurations: [String: Components.Schemas.CredentialConfiguration] = [:]
        for type in types where type.issuance != .external {
            configurations[type.code] = Components.Schemas.CredentialConfiguration(
                format: .dcSdJwt, vct: type.vct, cryptographicBindingMethodsSupported: ["jwk"], credentialSigningAlgValuesSupported: ["ES256"],
                proofTypesSupported: .init(additionalProperties: ["jwt": .init(proofSigningAlgValuesSupported: ["ES256"])]),
                credentialMetadata: .init(
                    display: [.init(name: type.name, locale: "zh-CN")],
                    claims: type.fields.map { .init(path: [$0.name], display: [.init(name: $0.label, locale: "zh-CN")]) }))
        }
        return .ok(
            .init(
                body: .json(
                    .init(
                        credentialIssuer: base, credentialEndpoint: "\(base)/v1/oid4vci/credential", nonceEndpoint: "\(base)/v1/oid4vci/nonce",
                        authorizationServers: [base], display: [.init(name: "杭州市移动办事之城", locale: "zh-CN")],
                        credentialConfigurationsSupported: .init(additionalProperties: configurations)))))
    }

    func getAuthorizationServerMetadata(
        _ input: Operations.GetAuthorizationServerMetadata.Input
    ) async throws -> Operations.GetAuthorizationServerMetadata.Output {
        let base = wallet.keys.publicBaseURL
        return .ok(
            .init(
                body: .json(
                    .init(
                        issuer: base, tokenEndpoint: "\(base)/v1/oid4vci/token",
                        grantTypesSupported: ["urn:ietf:params:oauth:grant-type:pre-authorized_code"],
                        preAuthorizedGrantAnonymousAccessSupported: true))))
    }

    func requestCredentialToken(_ input: Operations.RequestCredentialToken.Input) async throws -> Operations.RequestCredentialToken.Output {
        guard case .urlEncodedForm(let form) = input.body else { throw AppError.badRequest("Expected a form body.") }
        guard form.grantType == "urn:ietf:params:oauth:grant-type:pre-authorized_code" else {
            return .badRequest(.init(body: .json(.init(error: "unsupported_grant_type", errorDescription: "only the pre-authorized code grant"))))
        }
        guard let code = form.preAuthorizedCode, !code.isEmpty else {
            return .badRequest(.init(body: .json(.init(error: "invalid_request", errorDescription: "pre-authorized_code is missing"))))
        }
        guard let token = try await wallet.offers.redeem(code) else {
            return .badRequest(.init(body: .json(.init(error: "invalid_grant", errorDescription: "the code is unknown, used or expired"))))
        }
        return .ok(
            .init(
                headers: .init(cacheControl: "no-store"),
                body: .json(.init(accessToken: token, tokenType: .bearer, expiresIn: CredentialOffers.tokenLifetimeSeconds))))
    }

    func requestCredentialNonce(_ input: Operations.RequestCredentialNonce.Input) async throws -> Operations.RequestCredentialNonce.Output {
        let (nonce, _) = try await wallet.nonces.issue(for: Self.credentialNonceOwner)
        return .ok(.init(headers: .init(cacheControl: "no-store"), body: .json(.init(cNonce: nonce))))
    }

    func requestCredential(_ input: Operations.RequestCredential.Input) async throws -> Operations.RequestCredential.Output {
        func refuse(_ error: String, _ description: String) -> Operations.RequestCredential.Output {
            .badRequest(.init(body: .json(.init(error: error, errorDescription: description))))
        }
        guard let token = RequestScope.current?.bearerToken, try await wallet.offers.isLive(token) else {
            return .unauthorized(
                .init(body: .json(.init(error: "invalid_token", errorDescription: "the access token is missing, unknown, used or expired"))))
        }
        guard case .json(let body) = input.body else { throw AppError.badRequest("Expected a JSON body.") }
        let proofs = body.proofs?.jwt ?? []
        let single = body.proof.flatMap { $0.proofType == "jwt" ? $0.jwt : nil }
        guard let proof = proofs.first ?? single, proofs.count <= 1 else {
            return refuse("invalid_proof", "one jwt proof is needed (proofs.jwt)")
        }
        let audience = wallet.keys.publicBaseURL
        let checked: (key: ECPublicJWK, nonce: String)
        switch CredentialOffers.checkProof(proof, audience: audience, now: runtime.nowMillis / 1000) {
        case .success(let value): checked = value
        case .failure(let problem): return refuse("invalid_proof", problem.rawValue)
        }
        do {
            return try await issueCredential(token: token, proofKey: checked.key, nonce: checked.nonce, configuration: body.credentialConfigurationId)
        } catch let refusal as CredentialRefusal {
            return refuse(refusal.error, refusal.description)
        }
    }

    /// Spends the token and the nonce and issues the copy, in one transaction.
    private func issueCredential(
        token: String, proofKey: ECPublicJWK, nonce: String, configuration: String?
    ) async throws -> Operations.RequestCredential.Output {
        try await database.transaction { [wallet, runtime] db -> Operations.RequestCredential.Output in
            guard let grant = try await wallet.offers.spend(token, on: db) else {
                return .unauthorized(
                    .init(body: .json(.init(error: "invalid_token", errorDescription: "the access token is unknown, used or expired"))))
            }
            guard try await wallet.nonces.consume(nonce, by: Self.credentialNonceOwner, on: db) else {
                throw CredentialRefusal(error: "invalid_nonce", description: "the c_nonce is unknown, used or expired")
            }
            guard let license = try await ChangeLog.entity(License.self, id: grant.licenseID, in: .user(grant.accountID), on: db) else {
                throw CredentialRefusal(error: "invalid_credential_request", description: "the license is gone")
            }
            if let requested = configuration, requested != license.type {
                throw CredentialRefusal(error: "unknown_credential_configuration", description: "the offer was for \(license.type)")
            }
            guard let issued = try await wallet.licenses.issueCopy(grant.licenseID, holderKey: proofKey, on: db) else {
                throw CredentialRefusal(error: "invalid_credential_request", description: "the license is no longer valid")
            }
            let log = try await wallet.accessLog.record(
                licenseID: grant.licenseID, holder: grant.accountID, action: .exported, party: "OpenID4VCI 钱包", fields: [], on: db)
            try await ChangeLog.append(issued.records + [log], on: db, now: runtime.now())
            return .ok(.init(body: .json(.init(credentials: [.init(credential: issued.copy)]))))
        }
    }
}

/// A credential request refused after its token was spent: the transaction rolls back (the token stays unspent, so
/// the wallet may retry with a fresh nonce) and the wallet gets the OAuth error.
struct CredentialRefusal: Error {
    var error: String
    var description: String
}

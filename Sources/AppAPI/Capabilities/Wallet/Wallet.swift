import Foundation
import OneTripAPI
import OpenAPIRuntime
import SQLKit
import SyncCore

/// The wallet capability's parts, as `buildApplication` wires them: issuer keys, status lists, licenses, the access
/// log and verifier nonces, and server-side verification.
struct Wallet: Sendable {
    let database: any Database
    let keys: IssuerKeyStore
    let statusLists: StatusListStore
    let licenses: LicenseStore
    let accessLog: WalletAccessLog
    let nonces: PresentationNonces
    let offers: CredentialOffers
    let runtime: Runtime

    init(database: any Database, publicBaseURL: String, holders: LicenseHolders, runtime: Runtime, batchSize: Int = 4) {
        self.database = database
        self.runtime = runtime
        keys = IssuerKeyStore(database: database, publicBaseURL: publicBaseURL, runtime: runtime)
        statusLists = StatusListStore(keys: keys, runtime: runtime)
        var licenses = LicenseStore(database: database, keys: keys, statusLists: statusLists, holders: holders, runtime: runtime)
        licenses.batchSize = batchSize
        self.licenses = licenses
        accessLog = WalletAccessLog(database: database, runtime: runtime)
        nonces = PresentationNonces(database: database, runtime: runtime)
        offers = CredentialOffers(database: database, runtime: runtime)
    }

    /// What the wallet does when cases change: issue on approval, log licenses used as materials.
    var caseObservers: [any CaseObserver] { [LicenseIssuer(licenses: licenses), LicenseUseLog(accessLog: accessLog)] }

    /// The sync engine reads licenses (a case material citing one) from the holder's scope; devices never write them.
    var persisters: [any EntityPersister] { [LicensePersister()] }

    /// The `aud` a presentation to `verifierID` names.
    func audience(of verifierID: String) -> String { "\(keys.publicBaseURL)/verifiers/\(verifierID)" }

    /// Verifies `presentation` for the signed-in `verifier`: every check of `PresentationVerifier`, with the
    /// license's status read from the database (fresher than any published list) and the nonce consumed once, in the
    /// transaction that writes the holder's access-log entry.
    func verify(_ presentation: String, for verifier: Identity) async throws -> Components.Schemas.VerifiedPresentation {
        guard presentation.utf8.count <= SDJWT.maxBytes else { throw AppError(PresentationRejection.malformed) }
        let published = try await keys.verificationKeys(for: Self.keyID(of: presentation))
        let issuerKeys = published.compactMap(\.verifierKey)
        let entry = Self.statusEntry(of: presentation)
        return try await database.transaction { [self] db in
            var holder: (licenseID: String, accountID: String)?
            var status: LicenseStatus?
            if let entry, let found = try await licenses.license(atStatusEntry: entry.uri, index: entry.index, on: db) {
                holder = found
                status = try await statusLists.status(of: entry.uri, index: entry.index, on: db)
            }
            let verifierPolicy = PresentationVerifier(
                keys: issuerKeys, policy: .init(audience: audience(of: verifier.accountID)),
                status: { [status] index, uri in index == entry?.index && uri == entry?.uri ? status : nil })
            var nonce: String?
            let verified: VerifiedPresentation
            do {
                verified = try verifierPolicy.verify(presentation, now: runtime.nowMillis / 1000) { presented in
                    nonce = presented
                    return true
                }
            } catch let rejection as PresentationRejection {
                throw AppError(rejection)
            }
            guard let nonce, try await nonces.consume(nonce, by: verifier.accountID, on: db) else {
                throw AppError(PresentationRejection.keyBindingNonce)
            }
            if let holder {
                let party = try await licenses.holders.holder(verifier.accountID, db)?.name ?? verifier.accountID
                let record = try await accessLog.record(
                    licenseID: holder.licenseID, holder: holder.accountID, action: .verified, party: party, fields: Array(verified.disclosed.keys),
                    on: db)
                try await ChangeLog.append([record], on: db, now: runtime.now())
            }
            // The department is the one whose key verified the signature, never a reading of the issuer string.
            let department = published.first { $0.id == verified.keyID }?.departmentId ?? ""
            return Components.Schemas.VerifiedPresentation(
                issuer: verified.issuer, departmentId: department, keyId: verified.keyID, vct: verified.vct,
                licenseType: verified.vct.flatMap { $0.hasPrefix("urn:onetrip:license:") ? String($0.dropFirst(20)) : nil },
                disclosed: try JSONDecoder().decode(
                    Components.Schemas.VerifiedPresentation.DisclosedPayload.self,
                    from: try JSONValue.encoder.encode(JSONValue.object(verified.disclosed))),
                holderBound: verified.holderKey != nil, expiresAt: verified.visible["exp"]?.integer)
        }
    }

    /// The `kid` a presentation's issuer JWT names, read without verifying (to pick the keys to verify with).
    static func keyID(of presentation: String) -> String? {
        guard let jwt = presentation.split(separator: "~", maxSplits: 1).first, let jws = try? CompactJWS(jwt) else { return nil }
        return jws.header["kid"]?.string
    }

    /// The status entry a presentation's issuer JWT names, read without verifying (the verifier checks the signature).
    static func statusEntry(of presentation: String) -> (uri: String, index: Int)? {
        guard let jwt = presentation.split(separator: "~", maxSplits: 1).first, let jws = try? CompactJWS(jwt),
            let entry = jws.payload["status"]?["status_list"], let uri = entry["uri"]?.string, let index = entry["idx"]?.integer,
            (0..<Int64(StatusList.maxEntries)).contains(index)
        else { return nil }
        return (uri, Int(index))
    }
}

extension AppError {
    /// A refused presentation: 422 with the reason as its code.
    init(_ rejection: PresentationRejection) {
        self.init(ProblemCode(rejection.rawValue, .invalid), "The presentation was refused: \(rejection.rawValue).")
    }
}

/// Licenses for the sync engine: a mutator (`case.submit` citing a license as a material) loads the caller's own,
/// locked; another holder's id loads as absent. Devices never write licenses.
struct LicensePersister: EntityPersister {
    var entityType: EntityType { .license }

    func load(_ keys: [EntityKey], context: MutationContext, from log: ChangeLogView) async throws -> [EntityKey: [UInt8]?] {
        var loaded: [EntityKey: [UInt8]?] = [:]
        for key in keys { loaded[key] = .some(try await log.entity(key, in: .user(context.accountID), locking: true)) }
        return loaded
    }

    func persist(_ key: EntityKey, old: [UInt8]?, new: [UInt8]?, context: MutationContext, on log: ChangeLogView) async throws -> [ChangeRecord] {
        throw MutationRejection(.forbidden, "Licenses are issued by their department, never written from devices.")
    }
}

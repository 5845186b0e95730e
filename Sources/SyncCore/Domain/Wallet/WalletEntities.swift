/// The wallet's synced entities: a holder's licenses and access log in their `user:` scope; the issuers' public keys
/// and status lists in `public`, so an offline kiosk holds everything it needs to verify.

extension EntityType {
    /// A license in its holder's wallet (`user:` scope).
    public static let license = EntityType("license")
    /// Who verified or used one of the holder's licenses, and when (`user:` scope).
    public static let walletAccess = EntityType("wallet_access")
    /// An issuing department's public key (`public` scope).
    public static let issuerKey = EntityType("issuer_key")
    /// An issuer's signed status list (`public` scope).
    public static let statusList = EntityType("status_list")
}

/// A license (电子证照) as its holder's wallet keeps it: what it says, for showing it, and the batch of SD-JWT copies
/// it is presented from — each copy has its own salts, status index and holder key, so two verifiers shown two copies
/// cannot link them.
public struct License: SyncEntity, Hashable {
    public static let entityType: EntityType = .license

    /// What a license's status is, as the holder sees it.
    public enum State: String, Codable, Hashable, Sendable {
        case valid
        case suspended
        /// Revoked by the issuer (a status-list `invalid`; final).
        case revoked
        /// Replaced by a newer license (also `invalid` on the status list).
        case superseded
    }

    public var id: String
    /// The license type's code (`license_types`).
    public var type: String
    public var typeName: String
    public var vct: String
    public var departmentId: String
    /// The issuer (`iss`): the issuing department's identifier URL.
    public var issuer: String
    /// The GB/T 36904 identifier, when the type and the department have their national codes.
    public var identifier: String?
    /// The case whose approval issued it; `nil` for licenses issued before OneTrip (seeded holdings).
    public var caseId: String?
    /// The claims as the certificate prints them, by field name (the holder's own data).
    public var fields: [String: String]
    public var issuedAt: Int64
    public var expiresAt: Int64?
    public var state: State
    /// The license that replaced this one, when superseded.
    public var supersededBy: String?
    /// The issued SD-JWT copies (`<JWT>~<disclosures>~`), all with every disclosure; a presentation keeps some.
    public var copies: [String]

    public init(
        id: String, type: String, typeName: String, vct: String, departmentId: String, issuer: String, identifier: String? = nil,
        caseId: String? = nil, fields: [String: String], issuedAt: Int64, expiresAt: Int64? = nil, state: State = .valid,
        supersededBy: String? = nil, copies: [String]
    ) {
        self.id = id
        self.type = type
        self.typeName = typeName
        self.vct = vct
        self.departmentId = departmentId
        self.issuer = issuer
        self.identifier = identifier
        self.caseId = caseId
        self.fields = fields
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.state = state
        self.supersededBy = supersededBy
        self.copies = copies
    }

    /// Whether it can be presented or cited at `now` (milliseconds).
    public func isUsable(at now: Int64) -> Bool { state == .valid && (expiresAt.map { now < $0 } ?? true) }
}

/// One verification or use of a license, for its holder to read (`GET /v1/wallet/access-log`).
public struct WalletAccess: SyncEntity, Hashable {
    public static let entityType: EntityType = .walletAccess

    public enum Action: String, Codable, Hashable, Sendable {
        /// A presentation of it was verified (by the server for a verifier, or a kiosk reporting).
        case verified
        /// It was cited as a case material.
        case usedAsMaterial = "used_as_material"
        /// It was handed to a standards wallet (OpenID4VCI).
        case exported
    }

    public var id: String
    public var licenseId: String
    public var action: Action
    /// Who: the verifier's display name or the department handling the case.
    public var party: String
    /// The claims disclosed (names only; values are never logged).
    public var fields: [String]
    public var caseId: String?
    public var at: Int64

    public init(id: String, licenseId: String, action: Action, party: String, fields: [String], caseId: String? = nil, at: Int64) {
        self.id = id
        self.licenseId = licenseId
        self.action = action
        self.party = party
        self.fields = fields
        self.caseId = caseId
        self.at = at
    }
}

/// An issuing department's public key, as verifiers trust it.
public struct IssuerPublicKey: SyncEntity, Hashable {
    public static let entityType: EntityType = .issuerKey

    /// The key id (`kid`).
    public var id: String
    public var departmentId: String
    /// The `iss` its licenses carry.
    public var issuer: String
    public var jwk: ECPublicJWK
    public var createdAt: Int64
    /// When it stopped signing; it stays trusted for what it signed before.
    public var retiredAt: Int64?

    public init(id: String, departmentId: String, issuer: String, jwk: ECPublicJWK, createdAt: Int64, retiredAt: Int64? = nil) {
        self.id = id
        self.departmentId = departmentId
        self.issuer = issuer
        self.jwk = jwk
        self.createdAt = createdAt
        self.retiredAt = retiredAt
    }

    /// The verifier's form of it; `nil` when the JWK is not a P-256 point.
    public var verifierKey: PresentationVerifier.IssuerKey? {
        jwk.publicKey.map { PresentationVerifier.IssuerKey(keyID: id, issuer: issuer, key: $0) }
    }
}

/// A published status list: the signed `statuslist+jwt` and where it is served.
public struct PublishedStatusList: SyncEntity, Hashable {
    public static let entityType: EntityType = .statusList

    public var id: String
    public var departmentId: String
    /// The `uri` licenses name in `status.status_list`.
    public var uri: String
    public var token: String
    public var issuedAt: Int64
    /// Seconds a verifier may cache it.
    public var ttl: Int64

    public init(id: String, departmentId: String, uri: String, token: String, issuedAt: Int64, ttl: Int64) {
        self.id = id
        self.departmentId = departmentId
        self.uri = uri
        self.token = token
        self.issuedAt = issuedAt
        self.ttl = ttl
    }
}

import SyncCore

/// Which scopes an identity may read (docs/ARCHITECTURE.md, "Delta sync"); writers choose scopes through their persisters.
enum SyncAuthorization {
    /// Every scope `identity` may pull, in a stable order.
    static func readableScopes(_ identity: Identity) -> [Scope] {
        var scopes: [Scope] = [.public]
        switch identity.kind {
        case .citizen, .enterprise, .admin:
            scopes.append(.user(identity.accountID))
        case .clerk:
            scopes.append(.user(identity.accountID))
            if let department = identity.departmentID { scopes.append(.department(department)) }
        case .kiosk:
            if let center = identity.centerID { scopes.append(.kiosk(center)) }
        }
        return scopes
    }

    static func mayRead(_ scope: Scope, _ identity: Identity) -> Bool {
        readableScopes(identity).contains(scope)
    }
}

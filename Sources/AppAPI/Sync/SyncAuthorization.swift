import SyncCore

/// Which scopes an identity may read and write (DESIGN.md §4).
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

    /// The scope an entity a mutator touches lives in.
    static func scope(of key: EntityKey, context: MutationContext) -> Scope {
        switch key.type {
        case .profile, .message, .caseFile, .appointment, .queueTicket: .user(context.accountID)
        case .department, .matter, .bundle, .feeItem, .serviceCenter, .faq, .licenseType: .public
        // Slots are server-side state that `SyncService` keeps out of the change log; they are never published.
        case .appointmentSlot: .public
        }
    }
}

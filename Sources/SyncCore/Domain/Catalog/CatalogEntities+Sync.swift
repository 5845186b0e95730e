/// The catalog travels in the `public` scope: each type is a sync entity under its wire type name, so the replica
/// and the server's change log address it the same way (a matter's id is its code).

extension Department: SyncEntity {
    /// `department`
    public static let entityType: EntityType = .department
}

extension Matter: SyncEntity {
    /// `matter`
    public static let entityType: EntityType = .matter
}

extension MatterBundle: SyncEntity {
    /// `bundle`
    public static let entityType: EntityType = .bundle
}

extension FeeItem: SyncEntity {
    /// `fee_item`
    public static let entityType: EntityType = .feeItem
}

extension ServiceCenter: SyncEntity {
    /// `service_center`
    public static let entityType: EntityType = .serviceCenter
}

extension FAQEntry: SyncEntity {
    /// `faq`
    public static let entityType: EntityType = .faq
}

extension LicenseType: SyncEntity {
    /// `license_type`
    public static let entityType: EntityType = .licenseType
}

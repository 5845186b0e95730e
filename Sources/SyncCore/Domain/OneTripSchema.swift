/// OneTrip's entity types and mutators, as the sync engine sees them. A new entity type or mutator is declared here
/// (and in its domain folder); no engine file changes.

extension EntityType {
    // public scope: the catalog
    public static let department = EntityType("department")
    public static let matter = EntityType("matter")
    public static let bundle = EntityType("bundle")
    public static let feeItem = EntityType("fee_item")
    public static let serviceCenter = EntityType("service_center")
    public static let faq = EntityType("faq")
    public static let licenseType = EntityType("license_type")
    // user scope
    public static let profile = EntityType("profile")
    public static let message = EntityType("message")
    /// A case (办件); also in its department's `dept:` scope. Spelled `caseFile` because `case` is a keyword.
    public static let caseFile = EntityType("case")
    public static let appointment = EntityType("appointment")
    public static let queueTicket = EntityType("queue_ticket")
    // server-side state, never synced
    /// A bookable slot at a service centre (`AppointmentSlot`).
    public static let appointmentSlot = EntityType("appointment_slot")
    /// An uploaded file as its uploader owns it (`BlobRef`): lets `case.submit` check that a material's file exists
    /// and belongs to the applicant.
    public static let blob = EntityType("blob")
    /// An account's open appointments (`AppointmentHoldings`): lets `appointment.book` enforce a per-account limit.
    public static let appointmentHoldings = EntityType("appointment_holdings")
}

extension SyncSchema {
    /// Everything OneTrip syncs and every mutator, shared by the server, `appcli` and any Swift client.
    public static let oneTrip = SyncSchema(
        entities: [
            EntityDescriptor(Department.self), EntityDescriptor(Matter.self, searchText: \.searchText), EntityDescriptor(MatterBundle.self),
            EntityDescriptor(FeeItem.self), EntityDescriptor(ServiceCenter.self), EntityDescriptor(FAQEntry.self, searchText: \.searchText),
            EntityDescriptor(LicenseType.self), EntityDescriptor(HolidayCalendar.self),
            EntityDescriptor(Profile.self), EntityDescriptor(Message.self), EntityDescriptor(Case.self), EntityDescriptor(Appointment.self),
            EntityDescriptor(QueueTicket.self),
            EntityDescriptor(License.self), EntityDescriptor(WalletAccess.self), EntityDescriptor(IssuerPublicKey.self),
            EntityDescriptor(PublishedStatusList.self), EntityDescriptor(PaymentOrder.self),
            EntityDescriptor(AppointmentSlot.self, serverOnly: true), EntityDescriptor(BlobRef.self, serverOnly: true),
            EntityDescriptor(AppointmentHoldings.self, serverOnly: true),
        ],
        mutators: [
            AnyMutator(ProfileUpdate.self), AnyMutator(MessageMarkRead.self),
            AnyMutator(CaseSaveDraft.self), AnyMutator(CaseSubmit.self), AnyMutator(CaseWithdraw.self), AnyMutator(CaseSupplement.self),
            AnyMutator(CaseRate.self),
            AnyMutator(AppointmentBook.self), AnyMutator(AppointmentCancel.self),
        ]
    )
}

extension Replica {
    /// Opens a replica of OneTrip's schema (see `init(path:schema:wallClock:)`).
    public convenience init(path: String?, wallClock: @escaping @Sendable () -> Int64 = HybridLogicalClock.systemMillis) throws {
        try self.init(path: path, schema: .oneTrip, wallClock: wallClock)
    }
}

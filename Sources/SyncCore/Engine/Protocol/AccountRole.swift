/// The kinds of account, as an access token's `role` claim names them. Mutators declare which roles may run them.
public enum AccountRole: String, Codable, Sendable, CaseIterable {
    /// 个人: identified by a resident ID number.
    case citizen
    /// 法人: identified by a unified social credit code.
    case enterprise
    /// 窗口工作人员: belongs to a department.
    case clerk
    case admin
    /// 24-hour self-service kiosk (自助机): a device account at a service centre.
    case kiosk

    /// Accounts that apply for matters and hold licenses.
    public static let applicants: Set<AccountRole> = [.citizen, .enterprise]
    /// Accounts with a `user:` scope of their own (kiosks have none).
    public static let withUserScope: Set<AccountRole> = [.citizen, .enterprise, .clerk, .admin]
}

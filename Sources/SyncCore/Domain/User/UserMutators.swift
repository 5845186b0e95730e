import Foundation

/// `profile.update`: edit contact fields. Each field merges by last-writer-wins on the edit's HLC, so two devices
/// editing different fields both keep their edits, and the later edit of the same field wins everywhere.
/// Rejections: `server_owned_field` (name, kind, …), `invalid_args` (a malformed value), `not_found`.
public enum ProfileUpdate: Mutator {
    public static let name = "profile.update"
    public static let allowedRoles = AccountRole.withUserScope

    public struct Args: Codable, Sendable, Equatable {
        public var changes: ProfileChanges

        public init(changes: ProfileChanges) { self.changes = changes }
    }

    /// The fields to set; absent fields are left alone.
    public struct ProfileChanges: Codable, Sendable, Equatable {
        public var nickname: String?
        public var email: String?
        public var address: String?
        public var contactPhone: String?
        public var language: String?
        public var notifySMS: Bool?

        public init(
            nickname: String? = nil, email: String? = nil, address: String? = nil, contactPhone: String? = nil, language: String? = nil,
            notifySMS: Bool? = nil
        ) {
            self.nickname = nickname
            self.email = email
            self.address = address
            self.contactPhone = contactPhone
            self.language = language
            self.notifySMS = notifySMS
        }

        private struct AnyKey: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        public init(from decoder: any Decoder) throws {
            // Refuse server-owned or unknown fields instead of silently dropping them.
            let keys = try decoder.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue)
            if let foreign = keys.first(where: { !Profile.editableFields.contains($0) }) {
                throw MutationRejection(.serverOwnedField, "The field '\(foreign)' cannot be changed from a device.")
            }
            let container = try decoder.container(keyedBy: CodingKeys.self)
            nickname = try container.decodeIfPresent(String.self, forKey: .nickname)
            email = try container.decodeIfPresent(String.self, forKey: .email)
            address = try container.decodeIfPresent(String.self, forKey: .address)
            contactPhone = try container.decodeIfPresent(String.self, forKey: .contactPhone)
            language = try container.decodeIfPresent(String.self, forKey: .language)
            notifySMS = try container.decodeIfPresent(Bool.self, forKey: .notifySMS)
        }

        private enum CodingKeys: String, CodingKey {
            case nickname, email, address, contactPhone, language, notifySMS
        }
    }

    public static func reads(_ args: Args, context: MutationContext) -> [EntityKey] {
        [EntityKey(.profile, context.accountID)]
    }

    public static func apply(_ args: Args, to state: inout MutationState, context: MutationContext) throws(MutationRejection) {
        let changes = args.changes
        try validate(changes)
        guard var profile = try state.get(Profile.self, id: context.accountID) else {
            throw MutationRejection(.notFound, "The profile does not exist yet; sync first.")
        }
        let hlc = context.hlc
        if let v = changes.nickname { profile.fieldClocks.assign("nickname", Optional(v), into: &profile.nickname, at: hlc) }
        if let v = changes.email { profile.fieldClocks.assign("email", Optional(v), into: &profile.email, at: hlc) }
        if let v = changes.address { profile.fieldClocks.assign("address", Optional(v), into: &profile.address, at: hlc) }
        if let v = changes.contactPhone { profile.fieldClocks.assign("contactPhone", Optional(v), into: &profile.contactPhone, at: hlc) }
        if let v = changes.language { profile.fieldClocks.assign("language", v, into: &profile.language, at: hlc) }
        if let v = changes.notifySMS { profile.fieldClocks.assign("notifySMS", v, into: &profile.notifySMS, at: hlc) }
        state.put(profile)
    }

    /// The longest e-mail address kept (RFC 5321's path limit), checked before anything looks inside it.
    public static let maxEmailLength = 254

    static func validate(_ changes: ProfileChanges) throws(MutationRejection) {
        if let nickname = changes.nickname, nickname.count > 32 { throw MutationRejection(.invalidArgs, "nickname: at most 32 characters") }
        if let email = changes.email, !email.isEmpty {
            // The length first, in bytes (O(1) for a native string), so a huge value costs nothing to refuse.
            guard email.utf8.count <= maxEmailLength else { throw MutationRejection.invalid("email", "at most \(maxEmailLength) characters") }
            guard isEmailAddress(email) else { throw MutationRejection.invalid("email", "not an e-mail address") }
        }
        if let address = changes.address, address.count > 200 { throw MutationRejection(.invalidArgs, "address: at most 200 characters") }
        if let phone = changes.contactPhone, !phone.isEmpty, !isPhoneNumber(phone) {
            throw MutationRejection.invalid("contactPhone", "not a phone number")
        }
        if let language = changes.language, !["zh-CN", "en"].contains(language) {
            throw MutationRejection(.invalidArgs, "language: zh-CN or en")
        }
    }

    /// `local@domain.tld`: exactly one `@` with text on both sides, a dot inside the domain, and no whitespace or
    /// control character anywhere (a trailing newline included). Checked scalar by scalar: no regular expression.
    static func isEmailAddress(_ email: String) -> Bool {
        guard email.unicodeScalars.allSatisfy({ !$0.properties.isWhitespace && $0.properties.generalCategory != .control }) else { return false }
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty else { return false }
        let domain = parts[1]
        return domain.count >= 3 && domain.dropFirst().dropLast().contains(".")
    }

    /// 5 to 20 of `0-9`, `+` and `-`, compared byte by byte (a trailing newline is just a byte that does not match).
    static func isPhoneNumber(_ phone: String) -> Bool {
        (5...20).contains(phone.utf8.count)
            && phone.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") }
    }
}

/// `message.markRead`: mark a message read. Read is sticky and the earliest read time wins, so it commutes.
/// Rejections: `not_found`.
public enum MessageMarkRead: Mutator {
    public static let name = "message.markRead"
    public static let allowedRoles = AccountRole.withUserScope

    public struct Args: Codable, Sendable, Equatable {
        public var messageId: String

        public init(messageId: String) { self.messageId = messageId }
    }

    public static func reads(_ args: Args, context: MutationContext) -> [EntityKey] {
        [EntityKey(.message, args.messageId)]
    }

    public static func apply(_ args: Args, to state: inout MutationState, context: MutationContext) throws(MutationRejection) {
        guard var message = try state.get(Message.self, id: args.messageId) else {
            throw MutationRejection(.notFound, "No message has the id '\(args.messageId)'.")
        }
        // The edit's stamp may run ahead of the applying side's clock (up to the skew the server admits): a read never
        // lies in that side's future.
        let readAt = min(context.hlc.physical, context.now)
        if message.readAt == nil || readAt < message.readAt! {
            message.readAt = readAt
            state.put(message)
        }
    }
}

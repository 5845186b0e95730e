/// The catalog entities (事项 and what surrounds them). They travel in the `public` scope and are stored as
/// JSON both in the server's change log and in a client's replica, so server and phone share one shape.

/// A government department that owns matters.
public struct Department: Codable, Hashable, Sendable, Identifiable {
    public var id: String
    public var name: String
    public var shortName: String?
    public var phone: String?

    public init(id: String, name: String, shortName: String? = nil, phone: String? = nil) {
        self.id = id
        self.name = name
        self.shortName = shortName
        self.phone = phone
    }
}

/// The four business domains of the catalog.
public enum MatterDomain: String, Codable, Hashable, Sendable, CaseIterable {
    /// 不动产登记
    case realEstate = "real_estate"
    /// 商事登记
    case business
    /// 投资项目审批
    case investment
    /// 个人事项
    case personal

    /// Who may apply when a matter does not say: 个人事项 are for citizens, 投资项目 for enterprises, registrations for
    /// both (a citizen founds the company a business registration creates).
    public var defaultApplicants: [AccountRole] {
        switch self {
        case .personal: [.citizen]
        case .investment: [.enterprise]
        case .business, .realEstate: [.citizen, .enterprise]
        }
    }

    /// The Chinese label used in the catalog.
    public var label: String {
        switch self {
        case .realEstate: "不动产登记"
        case .business: "商事登记"
        case .investment: "投资项目审批"
        case .personal: "个人事项"
        }
    }
}

/// 即办件 (decided the same day) or 承诺件 (decided within the promised working days).
public enum MatterKind: String, Codable, Hashable, Sendable, CaseIterable {
    case immediate, promised
}

/// A document an application needs; an e-license of `eLicenseType` can stand in for it.
public struct Material: Codable, Hashable, Sendable {
    public var name: String
    public var required: Bool
    public var paperAllowed: Bool
    public var eLicenseType: String?
    public var note: String?

    public init(name: String, required: Bool, paperAllowed: Bool, eLicenseType: String? = nil, note: String? = nil) {
        self.name = name
        self.required = required
        self.paperAllowed = paperAllowed
        self.eLicenseType = eLicenseType
        self.note = note
    }
}

/// A matter (事项) of the implementation list.
public struct Matter: Codable, Hashable, Sendable, Identifiable {
    public var code: String
    public var name: String
    public var departmentId: String
    /// Filled from the department when the catalog is loaded, so a phone can show it offline.
    public var departmentName: String?
    public var domain: MatterDomain
    public var kind: MatterKind
    /// 法定办结时限, working days.
    public var legalDays: Int
    /// 承诺办结时限, working days (0 = same day).
    public var promisedDays: Int
    /// Where the promise is in minutes (60-minute real-estate registration).
    public var promisedMinutes: Int?
    /// 到办事现场次数: 0 or 1.
    public var onsiteVisits: Int
    /// 全程网办
    public var fullyOnline: Bool
    /// 仅凭身份证可办
    public var idCardOnly: Bool
    public var expressDelivery: Bool
    public var feeItemCodes: [String]
    public var materials: [Material]
    public var resultLicenseType: String?
    public var description: String?
    public var keywords: [String]?
    /// The account kinds that may apply (`citizen`, `enterprise`); `nil`: the domain's default.
    public var applicants: [AccountRole]?

    public var id: String { code }

    /// The most working days a matter may promise or the law may allow (ten years of working days).
    public static let maxDays = 2500

    /// The account kinds that may apply for this matter.
    public var allowedApplicants: [AccountRole] { applicants ?? domain.defaultApplicants }

    public init(
        code: String, name: String, departmentId: String, departmentName: String? = nil, domain: MatterDomain, kind: MatterKind,
        legalDays: Int, promisedDays: Int, promisedMinutes: Int? = nil, onsiteVisits: Int, fullyOnline: Bool, idCardOnly: Bool,
        expressDelivery: Bool, feeItemCodes: [String] = [], materials: [Material] = [], resultLicenseType: String? = nil,
        description: String? = nil, keywords: [String]? = nil
    ) {
        self.code = code
        self.name = name
        self.departmentId = departmentId
        self.departmentName = departmentName
        self.domain = domain
        self.kind = kind
        self.legalDays = legalDays
        self.promisedDays = promisedDays
        self.promisedMinutes = promisedMinutes
        self.onsiteVisits = onsiteVisits
        self.fullyOnline = fullyOnline
        self.idCardOnly = idCardOnly
        self.expressDelivery = expressDelivery
        self.feeItemCodes = feeItemCodes
        self.materials = materials
        self.resultLicenseType = resultLicenseType
        self.description = description
        self.keywords = keywords
    }

    /// Lower-cased text that keyword search matches against (name, code, department, domain, keywords).
    public var searchText: String {
        ([name, code, departmentName ?? "", domain.label] + (keywords ?? [])).joined(separator: " ").lowercased()
    }

    /// Problems that make this matter inconsistent; empty when it is valid.
    public var validationProblems: [String] {
        var problems: [String] = []
        if code.isEmpty || name.isEmpty { problems.append("code and name are required") }
        if !(0...1).contains(onsiteVisits) { problems.append("onsiteVisits must be 0 or 1") }
        if fullyOnline && onsiteVisits != 0 { problems.append("a fully online matter needs no visit") }
        if idCardOnly && materials.contains(where: \.required) { problems.append("an ID-card-only matter requires no materials") }
        if legalDays < 0 || promisedDays < 0 { problems.append("days must not be negative") }
        if legalDays > Self.maxDays || promisedDays > Self.maxDays { problems.append("days must not exceed \(Self.maxDays)") }
        if let applicants, applicants.isEmpty || !applicants.allSatisfy(AccountRole.applicants.contains) {
            problems.append("applicants must name citizen and/or enterprise")
        }
        if legalDays > 0 && promisedDays > legalDays { problems.append("promised days exceed the legal limit") }
        if kind == .immediate && promisedDays != 0 { problems.append("an immediate matter is decided the same day") }
        return problems
    }
}

/// 一件事: one submission that fans out into several matters.
public struct MatterBundle: Codable, Hashable, Sendable, Identifiable {
    public var code: String
    public var name: String
    public var description: String
    public var matterCodes: [String]
    public var promisedDays: Int?

    public var id: String { code }

    public init(code: String, name: String, description: String, matterCodes: [String], promisedDays: Int? = nil) {
        self.code = code
        self.name = name
        self.description = description
        self.matterCodes = matterCodes
        self.promisedDays = promisedDays
    }
}

/// The three categories of non-tax payments.
public enum FeeCategory: String, Codable, Hashable, Sendable, CaseIterable {
    /// 行政事业性收费
    case administrativeFee = "administrative_fee"
    /// 罚没收入
    case fines
    /// 其他非税收入
    case otherNonTax = "other_non_tax"
}

/// A non-tax fee item payable by phone. Amounts are integer fen.
public struct FeeItem: Codable, Hashable, Sendable, Identifiable {
    public var code: String
    public var name: String
    public var category: FeeCategory
    public var departmentId: String
    public var standardAmountFen: Int?
    public var note: String?

    public var id: String { code }

    public init(code: String, name: String, category: FeeCategory, departmentId: String, standardAmountFen: Int? = nil, note: String? = nil) {
        self.code = code
        self.name = name
        self.category = category
        self.departmentId = departmentId
        self.standardAmountFen = standardAmountFen
        self.note = note
    }
}

/// The level of a service centre in the city's four-level network.
public enum ServiceCenterLevel: String, Codable, Hashable, Sendable, CaseIterable {
    case city, district, town, village
}

/// Opening hours for a set of days (`mon-fri`, `sat`, `sun`, `daily`), times as `HH:MM`.
public struct OpeningHours: Codable, Hashable, Sendable {
    public var days: String
    public var open: String
    public var close: String

    public init(days: String, open: String, close: String) {
        self.days = days
        self.open = open
        self.close = close
    }
}

/// A service centre (行政服务中心, 便民服务中心, 代办点).
public struct ServiceCenter: Codable, Hashable, Sendable, Identifiable {
    public var id: String
    public var name: String
    public var level: ServiceCenterLevel
    public var district: String
    public var address: String
    public var phone: String?
    public var hours: [OpeningHours]
    public var selfService24h: Bool

    public init(
        id: String, name: String, level: ServiceCenterLevel, district: String, address: String, phone: String? = nil,
        hours: [OpeningHours], selfService24h: Bool
    ) {
        self.id = id
        self.name = name
        self.level = level
        self.district = district
        self.address = address
        self.phone = phone
        self.hours = hours
        self.selfService24h = selfService24h
    }
}

/// One entry of the 一网答 knowledge base.
public struct FAQEntry: Codable, Hashable, Sendable, Identifiable {
    public var id: String
    public var question: String
    public var answer: String
    public var tags: [String]
    public var matterCodes: [String]?

    public init(id: String, question: String, answer: String, tags: [String], matterCodes: [String]? = nil) {
        self.id = id
        self.question = question
        self.answer = answer
        self.tags = tags
        self.matterCodes = matterCodes
    }

    /// Lower-cased text that keyword search matches against.
    public var searchText: String { ([question, answer] + tags).joined(separator: " ").lowercased() }

    /// How well this entry answers `terms`: a hit in the question counts more than one in a tag or the answer.
    public func relevance(to terms: [String]) -> Int {
        let question = question.lowercased()
        let tags = tags.map { $0.lowercased() }
        let answer = answer.lowercased()
        return terms.reduce(0) { score, term in
            score + (question.contains(term) ? 4 : 0) + (tags.contains { $0.contains(term) } ? 2 : 0) + (answer.contains(term) ? 1 : 0)
        }
    }
}

/// A kind of e-license (电子证照) that a matter can issue or accept as a material.
public struct LicenseType: Codable, Hashable, Sendable, Identifiable {
    public var code: String
    public var name: String
    public var departmentId: String

    public var id: String { code }

    public init(code: String, name: String, departmentId: String) {
        self.code = code
        self.name = name
        self.departmentId = departmentId
    }
}

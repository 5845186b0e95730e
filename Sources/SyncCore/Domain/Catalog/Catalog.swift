/// The catalog entities (事项 and what surrounds them). They travel in the `public` scope and are stored as
/// JSON both in the server's change log and in a client's replica, so server and phone share one shape.

/// A government department that owns matters.
public struct Department: Codable, Hashable, Sendable, Identifiable {
    public var id: String
    public var name: String
    public var shortName: String?
    public var phone: String?
    /// 统一社会信用代码 of the department as an issuer (the middle part of its license identifiers). The seeds carry none:
    /// real codes come from the registry, and invented ones would pass for real; without one, licenses carry no
    /// GB/T 36904 identifier.
    public var creditCode: String?

    public init(id: String, name: String, shortName: String? = nil, phone: String? = nil, creditCode: String? = nil) {
        self.id = id
        self.name = name
        self.shortName = shortName
        self.phone = phone
        self.creditCode = creditCode
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
    /// License types of the applicant's that an approval replaces with its result (a renewed ID card voids the old).
    public var supersedesLicenseTypes: [String]?
    /// Who pays this matter's fees when not the applicant (`mortgagee` for 抵押权登记: the bank).
    public var feePayer: String?
    /// License types of the applicant's that an approval revokes (a deregistration voids the business license).
    public var revokesLicenseTypes: [String]?
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
    /// How an item's amount is found.
    public enum Pricing: String, Codable, Hashable, Sendable {
        /// `standardAmountFen` × quantity.
        case fixed
        /// One entry of `prices` (考试费 by subject, 保教费 by grade).
        case table
        /// From a decision, contract or assessment (fines, 配套费, 残保金, rents): a clerk or a decision states it,
        /// never the payer; bounded by `maxAmountFen`.
        case assessed
    }

    /// One entry of a price table.
    public struct Price: Codable, Hashable, Sendable {
        public var code: String
        public var label: String
        public var amountFen: Int

        public init(code: String, label: String, amountFen: Int) {
            self.code = code
            self.label = label
            self.amountFen = amountFen
        }
    }

    public var code: String
    public var name: String
    public var category: FeeCategory
    public var departmentId: String
    public var standardAmountFen: Int?
    public var note: String?
    /// The pricing unit (件, 本, 科目, 学期…).
    public var unit: String?
    /// `fixed` when absent and `standardAmountFen` is set, else `assessed`.
    public var pricing: Pricing?
    public var prices: [Price]?
    /// The most an assessed amount may be.
    public var maxAmountFen: Int?
    /// How many units a case's order bills when nobody says otherwise (0 for FEE-RE-CERT: only extra certificates).
    public var defaultQuantity: Int?
    /// Who pays: `applicant`, `party` (of a penalty decision), `mortgagee`…
    public var payer: String?
    /// The revenue type finance reconciles by: `administrative_fee`, `fine`, `government_fund`, `state_resource`.
    public var revenueType: String?
    /// 收费依据.
    public var legalBasis: String?
    public var exemptions: [String]?
    /// 执收单位编码 and 非税项目编码.
    public var collectingUnitCode: String?
    public var nonTaxItemCode: String?

    public var id: String { code }

    /// How the amount is found, with the default spelled out.
    public var effectivePricing: Pricing { pricing ?? (standardAmountFen != nil ? .fixed : .assessed) }

    /// The most any amount of the catalog may be (¥100 million), so prices times quantities stay far from overflow.
    public static let maxAmountFen = 10_000_000_000

    /// What is inconsistent in this item's pricing (empty when it can be billed).
    public var validationProblems: [String] {
        var problems: [String] = []
        let amounts = 0...Self.maxAmountFen
        switch effectivePricing {
        case .fixed:
            if let standard = standardAmountFen {
                if !amounts.contains(standard) { problems.append("standardAmountFen out of range") }
            } else {
                problems.append("fixed pricing needs standardAmountFen")
            }
        case .table:
            let prices = prices ?? []
            if prices.isEmpty { problems.append("table pricing needs prices") }
            if standardAmountFen != nil { problems.append("table pricing has no standardAmountFen") }
            if Set(prices.map(\.code)).count != prices.count { problems.append("duplicate price codes") }
            for price in prices {
                if !(1...32).contains(price.code.utf8.count)
                    || !price.code.utf8.allSatisfy({ (0x41...0x5A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2D })
                {
                    problems.append("price code \(price.code) is not [A-Z0-9-]{1,32}")
                }
                if !(1...Self.maxAmountFen).contains(price.amountFen) { problems.append("price \(price.code) out of range") }
            }
        case .assessed:
            if let max = maxAmountFen {
                if !(1...Self.maxAmountFen).contains(max) { problems.append("maxAmountFen out of range") }
            } else {
                problems.append("assessed pricing needs maxAmountFen")
            }
            if standardAmountFen != nil { problems.append("assessed pricing has no standardAmountFen") }
        }
        if let quantity = defaultQuantity, !(0...99).contains(quantity) { problems.append("defaultQuantity must be 0–99") }
        return problems
    }

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
    /// Whether the windows close on 法定节假日 (the 24-hour self-service area stays open); absent means they do.
    public var closedOnStatutoryHolidays: Bool?
    /// The departments whose matters the centre serves on weekends that are not worked (双休日便民服务: the article's
    /// 公积金, 医保, 不动产登记, 出入境, 城管违停 …); absent means every department its weekend hours are open for.
    public var weekendServices: [String]?

    public init(
        id: String, name: String, level: ServiceCenterLevel, district: String, address: String, phone: String? = nil,
        hours: [OpeningHours], selfService24h: Bool, closedOnStatutoryHolidays: Bool? = nil, weekendServices: [String]? = nil
    ) {
        self.id = id
        self.name = name
        self.level = level
        self.district = district
        self.address = address
        self.phone = phone
        self.hours = hours
        self.selfService24h = selfService24h
        self.closedOnStatutoryHolidays = closedOnStatutoryHolidays
        self.weekendServices = weekendServices
    }

    /// Whether the windows close on official holidays.
    public var closesOnHolidays: Bool { closedOnStatutoryHolidays ?? true }
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

/// A kind of e-license (电子证照) that a matter can issue or accept as a material: what it says, about whom, for how
/// long, and how it comes to exist. Every field of a license is selectively disclosable when it is presented.
public struct LicenseType: Codable, Hashable, Sendable, Identifiable {
    /// Whose license it is (GB/T 36903 holder identifier type): a person (`111`, resident ID number), an organization
    /// (`001`, unified social credit code), or either (a vehicle or a property may belong to both).
    public enum Holder: String, Codable, Hashable, Sendable {
        case person, organization, either
    }

    /// How a license of this type comes to be: issued by OneTrip when a case is approved, when an order is paid
    /// (e-receipts), or by another platform, so OneTrip only reads and verifies it (hospital receipts).
    public enum Issuance: String, Codable, Hashable, Sendable {
        case onApproval = "on_approval"
        case onPayment = "on_payment"
        case external
    }

    /// One field of the license, in the order the paper certificate shows them.
    public struct Field: Codable, Hashable, Sendable {
        /// The claim name (`snake_case`).
        public var name: String
        /// The label printed on the certificate.
        public var label: String
        /// Personal information (个人信息): a holder discloses it only on purpose, and it is never logged.
        public var personal: Bool

        public init(name: String, label: String, personal: Bool) {
            self.name = name
            self.label = label
            self.personal = personal
        }
    }

    public var code: String
    public var name: String
    /// The issuing (or, for e-receipts, the supervising) department.
    public var departmentId: String
    /// The SD-JWT VC type of its licenses.
    public var vct: String
    /// GB/T 36904 证照类型代码 (21 characters) once the national e-license catalogue assigns one; `nil` until then —
    /// the seeds invent none.
    public var typeCode: String?
    public var holder: Holder
    /// Years a license stays valid, when the type has one fixed period; `nil` for long-term or varying validity, which
    /// `validityNote` explains.
    public var validityYears: Int?
    public var validityNote: String?
    /// Copies issued per decision (a marriage certificate goes to each spouse).
    public var copies: Int
    public var issuance: Issuance
    public var fields: [Field]

    public var id: String { code }

    public init(
        code: String, name: String, departmentId: String, vct: String? = nil, typeCode: String? = nil, holder: Holder = .either,
        validityYears: Int? = nil, validityNote: String? = nil, copies: Int = 1, issuance: Issuance = .onApproval, fields: [Field] = []
    ) {
        self.code = code
        self.name = name
        self.departmentId = departmentId
        self.vct = vct ?? Self.defaultVCT(code)
        self.typeCode = typeCode
        self.holder = holder
        self.validityYears = validityYears
        self.validityNote = validityNote
        self.copies = copies
        self.issuance = issuance
        self.fields = fields
    }

    /// What is wrong with this type as seed data; empty when nothing is.
    public var validationProblems: [String] {
        var problems: [String] = []
        if fields.isEmpty { problems.append("no fields") }
        var seen = Set<String>()
        for field in fields {
            if !seen.insert(field.name).inserted { problems.append("field \(field.name) twice") }
            let plain =
                !field.name.isEmpty && field.name.utf8.count <= 64
                && field.name.utf8.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x5F }
            if !plain || ["_sd", "iss", "vct", "iat", "exp", "nbf", "cnf", "status", "sub"].contains(field.name) {
                problems.append("field name '\(field.name)' is not a plain snake_case claim name of its own")
            }
            if field.label.isEmpty { problems.append("field \(field.name) has no label") }
        }
        if !(1...4).contains(copies) { problems.append("copies \(copies) is not 1–4") }
        if let years = validityYears, !(1...100).contains(years) { problems.append("validity of \(years) years") }
        if validityYears == nil && (validityNote ?? "").isEmpty { problems.append("neither a validity in years nor a note on it") }
        if let typeCode {
            let digits = typeCode.suffix(3).allSatisfy { $0.isASCII && $0.isNumber }
            if typeCode.count != 21 || !digits || (try? CreditCode(String(typeCode.prefix(18)))) == nil {
                problems.append("type code \(typeCode) is not a GB/T 36904 type code")
            }
        }
        if !vct.hasPrefix("urn:") && !vct.hasPrefix("https://") { problems.append("vct \(vct) is neither a URN nor an https URL") }
        return problems
    }

    /// `urn:onetrip:license:<code>`.
    public static func defaultVCT(_ code: String) -> String { "urn:onetrip:license:" + code }

    private enum CodingKeys: String, CodingKey {
        case code, name, departmentId, vct, typeCode, holder, validityYears, validityNote, copies, issuance, fields
    }

    /// Decodes a type; what an older server or replica did not carry takes its default.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let code = try container.decode(String.self, forKey: .code)
        self.init(
            code: code, name: try container.decode(String.self, forKey: .name),
            departmentId: try container.decode(String.self, forKey: .departmentId),
            vct: try container.decodeIfPresent(String.self, forKey: .vct), typeCode: try container.decodeIfPresent(String.self, forKey: .typeCode),
            holder: try container.decodeIfPresent(Holder.self, forKey: .holder) ?? .either,
            validityYears: try container.decodeIfPresent(Int.self, forKey: .validityYears),
            validityNote: try container.decodeIfPresent(String.self, forKey: .validityNote),
            copies: try container.decodeIfPresent(Int.self, forKey: .copies) ?? 1,
            issuance: try container.decodeIfPresent(Issuance.self, forKey: .issuance) ?? .onApproval,
            fields: try container.decodeIfPresent([Field].self, forKey: .fields) ?? [])
    }
}

import Foundation
import SQLKit
import SyncCore

/// Filters for a catalog search; `nil` means "any".
struct MatterQuery: Sendable, Equatable {
    var terms: [String] = []
    var departmentID: String?
    var domain: MatterDomain?
    var idCardOnly: Bool?
    var fullyOnline: Bool?
    var visits: Int?
    /// Return matters whose code sorts after this one.
    var afterCode: String?
    var limit: Int = 20
}

/// Everything the catalog is loaded from (seed files or a synthetic generator).
struct CatalogContent: Sendable {
    var departments: [Department] = []
    var licenseTypes: [LicenseType] = []
    var feeItems: [FeeItem] = []
    var matters: [Matter] = []
    var bundles: [MatterBundle] = []
    var serviceCenters: [ServiceCenter] = []
    var faq: [FAQEntry] = []
    /// The holiday calendar, published whole as one entity.
    var holidays: HolidayCalendar?
}

/// The matter catalog in SQL. Writes also publish into the `public` scope of the change log.
struct CatalogStore: Sendable {
    let database: any Database

    // MARK: Reads

    func matters(_ query: MatterQuery) async throws -> (items: [Matter], hasMore: Bool) {
        try await database.read { db in
            let select = db.select().column("data").from("matters")
            for term in query.terms {
                select.where(SQLQueryString("search_text LIKE \(bind: Self.likePattern(term)) ESCAPE '!'"))
            }
            if let department = query.departmentID { select.where("department_id", .equal, department) }
            if let domain = query.domain { select.where("domain", .equal, domain.rawValue) }
            if let idCardOnly = query.idCardOnly { select.where("id_card_only", .equal, idCardOnly ? 1 : 0) }
            if let fullyOnline = query.fullyOnline { select.where("fully_online", .equal, fullyOnline ? 1 : 0) }
            if let visits = query.visits { select.where("onsite_visits", .equal, visits) }
            if let after = query.afterCode { select.where("code", .greaterThan, after) }
            let rows = try await select.orderBy("code").limit(query.limit + 1).all()
            let items = try rows.prefix(query.limit).map { try Self.decode(Matter.self, from: $0) }
            return (items, rows.count > query.limit)
        }
    }

    func matter(code: String) async throws -> Matter? {
        try await database.read { db in
            try await db.select().column("data").from("matters").where("code", .equal, code).first().map { try Self.decode(Matter.self, from: $0) }
        }
    }

    func departments() async throws -> [Department] { try await all(Department.self, from: "departments", orderBy: "id") }
    func bundles() async throws -> [MatterBundle] { try await all(MatterBundle.self, from: "bundles", orderBy: "code") }
    func feeItems() async throws -> [FeeItem] { try await all(FeeItem.self, from: "fee_items", orderBy: "code") }
    func licenseTypes() async throws -> [LicenseType] { try await all(LicenseType.self, from: "license_types", orderBy: "code") }

    func serviceCenters(level: ServiceCenterLevel?) async throws -> [ServiceCenter] {
        try await database.read { db in
            let select = db.select().column("data").from("service_centers")
            if let level { select.where("level", .equal, level.rawValue) }
            return try await select.orderBy("id").all().map { try Self.decode(ServiceCenter.self, from: $0) }
        }
    }

    /// FAQ entries matching every term, best first (a hit in the question outranks one in the answer).
    func faq(terms: [String], limit: Int) async throws -> [FAQEntry] {
        let entries = try await database.read { db in
            let select = db.select().column("data").from("faq_entries")
            for term in terms {
                select.where(SQLQueryString("search_text LIKE \(bind: Self.likePattern(term)) ESCAPE '!'"))
            }
            return try await select.orderBy("id").all().map { try Self.decode(FAQEntry.self, from: $0) }
        }
        guard !terms.isEmpty else { return Array(entries.prefix(limit)) }
        let ranked = entries.enumerated().sorted { lhs, rhs in
            let (l, r) = (lhs.element.relevance(to: terms), rhs.element.relevance(to: terms))
            return l != r ? l > r : lhs.offset < rhs.offset
        }
        return ranked.prefix(limit).map(\.element)
    }

    func matterCount() async throws -> Int {
        try await database.read { db in
            try await db.raw("SELECT COUNT(*) AS n FROM matters").first()?.decode(column: "n", as: Int.self) ?? 0
        }
    }

    // MARK: Writes

    /// Upserts `content` and publishes every entity into the `public` scope, in the caller's transaction.
    func save(_ content: CatalogContent, on db: any SQLDatabase) async throws {
        let departmentNames = Dictionary(content.departments.map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
        var changes: [ChangeRecord] = []

        for department in content.departments {
            try await upsert(db, table: "departments", key: "id", values: ["id": department.id, "name": department.name], data: department)
            changes.append(try .upsert(department, id: department.id, type: .department, in: .public))
        }
        for licenseType in content.licenseTypes {
            try await upsert(db, table: "license_types", key: "code", values: ["code": licenseType.code], data: licenseType)
            changes.append(try .upsert(licenseType, id: licenseType.code, type: .licenseType, in: .public))
        }
        for item in content.feeItems {
            try await upsert(db, table: "fee_items", key: "code", values: ["code": item.code, "category": item.category.rawValue], data: item)
            changes.append(try .upsert(item, id: item.code, type: .feeItem, in: .public))
        }
        for var matter in content.matters {
            if matter.departmentName == nil { matter.departmentName = departmentNames[matter.departmentId] }
            try await upsert(
                db, table: "matters", key: "code",
                values: [
                    "code": matter.code, "name": matter.name, "department_id": matter.departmentId, "domain": matter.domain.rawValue,
                    "id_card_only": matter.idCardOnly ? 1 : 0, "fully_online": matter.fullyOnline ? 1 : 0,
                    "onsite_visits": matter.onsiteVisits, "search_text": matter.searchText,
                ],
                data: matter
            )
            changes.append(try .upsert(matter, id: matter.code, type: .matter, in: .public))
        }
        for bundle in content.bundles {
            try await upsert(db, table: "bundles", key: "code", values: ["code": bundle.code], data: bundle)
            changes.append(try .upsert(bundle, id: bundle.code, type: .bundle, in: .public))
        }
        for center in content.serviceCenters {
            try await upsert(db, table: "service_centers", key: "id", values: ["id": center.id, "level": center.level.rawValue], data: center)
            changes.append(try .upsert(center, id: center.id, type: .serviceCenter, in: .public))
        }
        for entry in content.faq {
            try await upsert(db, table: "faq_entries", key: "id", values: ["id": entry.id, "search_text": entry.searchText], data: entry)
            changes.append(try .upsert(entry, id: entry.id, type: .faq, in: .public))
        }
        if let holidays = content.holidays {
            try await WorkingCalendarStore.save(
                holidays: holidays.years.values.flatMap(\.holidays), workdays: holidays.years.values.flatMap(\.workdays), on: db)
            changes.append(try .upsert(holidays, id: holidays.id, type: .holidayCalendar, in: .public))
        }
        try await ChangeLog.append(changes, on: db)
    }

    // MARK: Helpers

    private func all<T: Decodable & Sendable>(_ type: T.Type, from table: String, orderBy column: String) async throws -> [T] {
        try await database.read { db in
            try await db.select().column("data").from(table).orderBy(column).all().map { try Self.decode(T.self, from: $0) }
        }
    }

    private func upsert(
        _ db: any SQLDatabase, table: String, key: String, values: KeyValuePairs<String, any Encodable & Sendable>, data: some Encodable
    ) async throws {
        let columns = values.map(\.key) + ["data"]
        let binds: [any SQLExpression] = values.map { SQLBind($0.value) } + [SQLBind(try ChangeLog.encode(data))]
        try await db.insert(into: table).columns(columns).values(binds)
            .onConflict(with: [key]) { conflict in
                for column in columns where column != key { conflict.set(excludedValueOf: column) }
                return conflict
            }
            .run()
    }

    static func decode<T: Decodable>(_ type: T.Type, from row: any SQLRow) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(try row.decode(column: "data", as: String.self).utf8))
    }

    /// A `LIKE` pattern matching `term` anywhere, with `!` escaping the wildcard characters a user may type.
    static func likePattern(_ term: String) -> String {
        var escaped = ""
        for character in term {
            if character == "%" || character == "_" || character == "!" { escaped.append("!") }
            escaped.append(character)
        }
        return "%\(escaped)%"
    }
}

extension CatalogStore {
    /// The catalog as mutators read it (never write it): the `public` scope of the change log.
    static let persisters: [any EntityPersister] = [
        EntityType.department, .matter, .bundle, .feeItem, .serviceCenter, .faq, .licenseType, .holidayCalendar,
    ].map {
        ChangeLogPersister($0, home: .public)
    }
}

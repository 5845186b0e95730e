import Foundation
import OneTripAPI
import SyncCore

/// The public catalog routes (no authentication).
extension APIImplementation {
    func listMatters(_ input: Operations.ListMatters.Input) async throws -> Operations.ListMatters.Output {
        let query = try MatterQuery(input.query)
        let page = try await catalog.matters(query)
        let next = page.hasMore ? page.items.last.map { MatterCursor.encode(afterCode: $0.code) } : nil
        return .ok(.init(body: .json(.init(items: page.items.map(Components.Schemas.Matter.init), nextCursor: next))))
    }

    func getMatter(_ input: Operations.GetMatter.Input) async throws -> Operations.GetMatter.Output {
        guard PathID.isPlausible(input.path.code), let matter = try await catalog.matter(code: input.path.code) else {
            throw AppError.notFound("No matter has the code '\(input.path.code.prefix(128))'.")
        }
        return .ok(.init(body: .json(.init(matter))))
    }

    func listBundles(_ input: Operations.ListBundles.Input) async throws -> Operations.ListBundles.Output {
        let bundles = try await catalog.bundles().map {
            Components.Schemas.Bundle(
                code: $0.code, name: $0.name, description: $0.description, matterCodes: $0.matterCodes, promisedDays: $0.promisedDays)
        }
        return .ok(.init(body: .json(.init(items: bundles))))
    }

    func listDepartments(_ input: Operations.ListDepartments.Input) async throws -> Operations.ListDepartments.Output {
        let departments = try await catalog.departments().map {
            Components.Schemas.Department(id: $0.id, name: $0.name, shortName: $0.shortName, phone: $0.phone)
        }
        return .ok(.init(body: .json(.init(items: departments))))
    }

    func listServiceCenters(_ input: Operations.ListServiceCenters.Input) async throws -> Operations.ListServiceCenters.Output {
        let level = input.query.level
        let centers = try await catalog.serviceCenters(level: level).map(Components.Schemas.ServiceCenter.init)
        return .ok(.init(body: .json(.init(items: centers))))
    }

    func listFeeItems(_ input: Operations.ListFeeItems.Input) async throws -> Operations.ListFeeItems.Output {
        return .ok(.init(body: .json(.init(items: try await catalog.feeItems()))))
    }

    func searchFAQ(_ input: Operations.SearchFAQ.Input) async throws -> Operations.SearchFAQ.Output {
        let terms = try validatedTerms(input.query.q)
        let limit = try validatedLimit(input.query.limit)
        let entries = try await catalog.faq(terms: terms, limit: limit).map {
            Components.Schemas.FAQEntry(id: $0.id, question: $0.question, answer: $0.answer, tags: $0.tags, matterCodes: $0.matterCodes)
        }
        return .ok(.init(body: .json(.init(items: entries))))
    }
}

/// Validation of the query parameters the generator cannot check (lengths and ranges).
func validatedTerms(_ q: String?) throws -> [String] {
    guard let q else { return [] }
    guard (1...64).contains(q.unicodeScalars.count) else { throw AppError.invalidParameter("q", "must be 1 to 64 characters") }
    guard isPlainText(q) else { throw AppError.invalidParameter("q", "must not contain control characters") }
    let terms = searchTerms(q)
    guard !terms.isEmpty else { throw AppError.invalidParameter("q", "must contain a keyword") }
    return terms
}

func validatedLimit(_ limit: Int?) throws -> Int {
    let limit = limit ?? 20
    guard (1...100).contains(limit) else { throw AppError.invalidParameter("limit", "must be between 1 and 100") }
    return limit
}

extension MatterQuery {
    init(_ query: Operations.ListMatters.Input.Query) throws {
        self.init()
        terms = try validatedTerms(query.q)
        limit = try validatedLimit(query.limit)
        if let department = query.department {
            guard (1...64).contains(department.unicodeScalars.count), isPlainText(department) else {
                throw AppError.invalidParameter("department", "must be 1 to 64 characters, none of them control characters")
            }
            departmentID = department
        }
        domain = query.domain
        idCardOnly = query.idCardOnly
        fullyOnline = query.fullyOnline
        if let visits = query.visits {
            guard (0...1).contains(visits) else { throw AppError.invalidParameter("visits", "must be 0 or 1") }
            self.visits = visits
        }
        if let cursor = query.cursor {
            guard let after = MatterCursor.decode(cursor) else { throw AppError.invalidParameter("cursor", "is not a cursor this server issued") }
            afterCode = after
        }
    }
}

/// Opaque page cursors: base64url of a versioned position, so the format can change without breaking apps.
enum MatterCursor {
    static func encode(afterCode code: String) -> String {
        base64URL(Data("m1:\(code)".utf8))
    }

    static func decode(_ cursor: String) -> String? {
        guard let data = decodeBase64URL(cursor), let text = String(data: data, encoding: .utf8), text.hasPrefix("m1:") else { return nil }
        let code = String(text.dropFirst(3))
        return code.isEmpty ? nil : code
    }
}

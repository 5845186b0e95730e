import Foundation
import OneTripAPI
import SQLKit

/// 整改 tasks opened by poor ratings, for the department that must act on them.
extension APIImplementation {
    func listRectifications(_ input: Operations.ListRectifications.Input) async throws -> Operations.ListRectifications.Output {
        let me = try await authenticate([.clerk, .admin])
        let status = input.query.status?.rawValue
        // A clerk sees their department's tasks; an admin every department's.
        let rows = try await cases.rectifications(department: me.kind == .clerk ? me.departmentID ?? "" : nil, status: status)
        let items = try rows.map { row in
            Components.Schemas.RectificationTask(
                id: try row.decode(column: "id", as: String.self), caseId: try row.decode(column: "case_id", as: String.self),
                departmentId: try row.decode(column: "department_id", as: String.self), rating: try row.decode(column: "rating", as: Int.self),
                comment: try row.decode(column: "comment", as: String?.self), due: try row.decode(column: "due", as: String.self),
                status: .init(rawValue: try row.decode(column: "status", as: String.self)) ?? .open,
                createdAt: try row.decode(column: "created_at", as: Int.self)
            )
        }
        return .ok(.init(body: .json(.init(items: items))))
    }
}

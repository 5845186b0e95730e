import Foundation
import SQLKit
import SyncCore

/// Tells the applicant about every state change (synced into their `user:` scope, so the phone shows progress
/// without polling).
struct CaseMessages: CaseObserver {
    func caseChanged(from old: Case?, to new: Case, calendar: WorkingCalendar, on db: any SQLDatabase) async throws -> [ChangeRecord] {
        guard let old, old.state != new.state else { return [] }
        let event = new.timeline.last
        var body = "您的「\(new.matterName)」办件状态：\(old.state.label) → \(new.state.label)。"
        switch new.state {
        case .correctionRequired: body += "请一次性补正以下材料：\(new.correctionItems.joined(separator: "、"))。"
        case .acceptedPending: body += "已容缺受理，请在 \(new.pendingDue ?? "约定日期") 前补齐：\(new.pendingMaterials.joined(separator: "、"))。"
        case .accepted, .underReview: if let deadline = new.deadline { body += "承诺办结日期：\(deadline)。" }
        case .completed: body += "欢迎对本次服务进行评价（好差评）。"
        default: break
        }
        if let note = event?.note, !note.isEmpty { body += "说明：\(note)" }
        let at = event?.at ?? Int64(Clock.nowMillis())
        let message = Message(
            id: "msg_\(new.id)_\(new.timeline.count)", title: "办件进度：\(new.state.label)", body: body, category: "case", subjectID: new.id,
            createdAt: at
        )
        return [try .upsert(message, id: message.id, type: .message, in: .user(new.accountId))]
    }
}

/// 好差评: a 不满意 or 非常不满意 rating opens a rectification task for the department, due in 15 working days.
struct RectificationTasks: CaseObserver {

    func caseChanged(from old: Case?, to new: Case, calendar: WorkingCalendar, on db: any SQLDatabase) async throws -> [ChangeRecord] {
        guard old?.rating == nil, let rating = new.rating, rating.opensRectification else { return [] }
        let due = calendar.addingWorkingDays(CaseRating.rectificationWorkingDays, to: calendar.day(fromMillis: rating.at))
        try await db.insert(into: "rectification_tasks").columns("id", "case_id", "department_id", "rating", "comment", "due", "status", "created_at")
            .values(
                SQLBind("rect_\(new.id)"), SQLBind(new.id), SQLBind(new.departmentId), SQLBind(rating.level), SQLBind(rating.comment), SQLBind(due),
                SQLBind("open"), SQLBind(Clock.nowMillis())
            )
            .ignoringConflicts(with: ["id"]).run()
        return []
    }
}

import Foundation
import SyncCore

/// What `appcli track` shows: the case, where its promised deadline stands today, and its visits.
///
/// The countdown counts working days in the official holiday calendar the replica holds from the `public` scope
/// (法定节假日 and 调休, as the server counts the deadline). Before the first sync has brought it — or for a deadline
/// in a year the calendar holds only as a projection — the figure says so in `calendar`.
struct CaseTrackView: Encodable {
    /// Where the promised deadline stands.
    struct Countdown: Encodable {
        var deadline: String
        /// Working days from today to the deadline (negative: overdue by that many).
        var workingDaysLeft: Int
        var overdue: Bool
        /// The clock is paused (中止).
        var paused: Bool
        /// How the days were counted.
        var calendar: String
    }

    var `case`: Case
    var today: String
    var countdown: Countdown?
    /// Visits beyond the matter's promise (跑了不止承诺的次数).
    var brokeOneTripPromise: Bool
    /// Changes to this case are still waiting in the outbox.
    var unsynced: Bool

    init(_ item: Case, today: String, unsynced: Bool, holidays: HolidayCalendar? = nil) {
        self.case = item
        self.today = today
        self.unsynced = unsynced
        brokeOneTripPromise = item.brokeOneTripPromise
        if let deadline = item.deadline, Case.deadlineRunningStates.contains(item.state) || item.state == .suspended,
            WorkingCalendar.isValidDay(deadline)
        {
            let calendar = holidays?.workingCalendar ?? .weekendsOnly
            // Both are valid days here, so the count exists; 0 keeps the view total all the same.
            let left = calendar.workingDays(from: today, to: deadline) ?? 0
            let label =
                switch holidays {
                case nil: "weekends only (no holiday calendar synced yet)"
                case let known? where known.isProjected(deadline): "holiday calendar (\(deadline.prefix(4)) projected: no official notice yet)"
                default: "official holiday calendar"
                }
            countdown = Countdown(
                deadline: deadline, workingDaysLeft: left, overdue: item.isOverdue(today: today), paused: item.state == .suspended,
                calendar: label)
        }
    }

    /// The text form.
    func render() -> String {
        let item = self.case
        var lines: [String] = []
        lines.append("\(item.matterName)  [\(item.matterCode)]")
        lines.append("办件编号：\(item.id)    状态：\(item.state.label)（\(item.state.rawValue)）" + (unsynced ? "    ⇡ 有未同步的修改" : ""))
        if let bundle = item.bundleSubmissionId { lines.append("一件事提交：\(bundle)") }
        if let countdown {
            let status: String
            if countdown.paused {
                status = "已中止，计时暂停"
            } else if countdown.overdue {
                status = "已超期 \(-countdown.workingDaysLeft) 个工作日"
            } else if countdown.workingDaysLeft == 0 {
                status = "今天到期"
            } else {
                status = "还剩 \(countdown.workingDaysLeft) 个工作日"
            }
            lines.append("承诺办结：\(countdown.deadline)（\(status)；按周一至周五计，离线时不含法定节假日）")
        } else if let deadline = item.deadline {
            lines.append("承诺办结：\(deadline)")
        } else if item.kind == .promised && item.state.isPreDecision {
            lines.append("承诺时限：受理后 \(item.promisedDays) 个工作日")
        }
        var visits = "到现场：\(item.visits) 次（承诺最多 \(item.promisedVisits) 次）"
        if brokeOneTripPromise { visits += "  ⚠ 超过承诺的跑动次数" }
        lines.append(visits)
        if !item.correctionItems.isEmpty { lines.append("需补正：\(item.correctionItems.joined(separator: "、"))") }
        if !item.pendingMaterials.isEmpty { lines.append("容缺待补：\(item.pendingMaterials.joined(separator: "、"))（\(item.pendingDue ?? "?") 前）") }
        if !item.form.isEmpty {
            lines.append("表单：" + item.form.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "  "))
        }
        if !item.materials.isEmpty {
            lines.append(
                "材料："
                    + item.materials.map { material in
                        let how = material.blobSha256.map { "文件 \($0.prefix(8))…" } ?? material.eLicenseType.map { "电子证照 \($0)" } ?? "纸质"
                        return "\(material.name)（\(how)）"
                    }.joined(separator: "、"))
        }
        if let delivery = item.delivery {
            lines.append("送达：\(delivery.method.rawValue)" + (delivery.trackingNumber.map { " 运单 \($0)" } ?? ""))
        }
        if let note = item.decisionNote { lines.append("决定说明：\(note)") }
        if let rating = item.rating { lines.append("评价：\(rating.label)" + (rating.comment.map { "「\($0)」" } ?? "")) }
        var table = Table(["时间", "办理人", "操作", "状态变化", "说明"])
        for event in item.timeline {
            let move = event.to.map { to in (event.from.map { "\($0.label) → " } ?? "") + to.label } ?? ""
            table.append([ChinaTime.minute(event.at), actorLabel(event), event.action, move, event.note ?? ""])
        }
        lines.append("")
        lines.append(table.render())
        return lines.joined(separator: "\n")
    }

    private func actorLabel(_ event: CaseEvent) -> String {
        switch event.actorKind {
        case .applicant: "申请人"
        case .clerk: "窗口 \(event.actorId.suffix(6))"
        case .system: "系统"
        }
    }
}

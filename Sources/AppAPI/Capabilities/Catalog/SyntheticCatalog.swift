import Foundation
import SyncCore

/// Generates plausible matters in bulk for scale tests (`appapi seed --synthetic-matters 9593`, the size of the
/// city's catalog). Deterministic: matter n is always the same, so repeated runs upsert rather than grow.
enum SyntheticCatalog {
    private static let subjects = ["企业", "个体工商户", "居民", "建设项目", "不动产", "社会组织", "外籍人员", "退役军人", "残疾人", "老年人"]
    private static let actions = ["登记", "变更", "注销", "备案", "许可", "证明开具", "补领", "年检", "资格认定", "信息查询"]
    private static let topics = ["营业执照", "公积金", "社会保险", "医疗保险", "户籍", "出入境", "道路运输", "食品经营", "排污", "消防", "档案", "婚姻"]

    static func matter(number: Int, departments: [Department]) -> Matter {
        let department = departments[number % departments.count]
        let domain = MatterDomain.allCases[number % MatterDomain.allCases.count]
        let topic = topics[number % topics.count]
        let subject = subjects[(number / topics.count) % subjects.count]
        let action = actions[(number / 7) % actions.count]
        let immediate = number % 3 == 0
        let idCardOnly = number % 11 == 0
        let fullyOnline = idCardOnly || number % 2 == 0
        let promised = immediate ? 0 : 1 + number % 15
        return Matter(
            code: String(format: "SYN-%06d", number),
            name: "\(subject)\(topic)\(action)（\(number)号）",
            departmentId: department.id, departmentName: department.name, domain: domain,
            kind: immediate ? .immediate : .promised, legalDays: immediate ? 1 : promised + 5, promisedDays: promised,
            onsiteVisits: fullyOnline ? 0 : 1, fullyOnline: fullyOnline, idCardOnly: idCardOnly, expressDelivery: number % 4 == 0,
            materials: idCardOnly
                ? []
                : [
                    Material(name: "申请表", required: true, paperAllowed: true),
                    Material(name: "\(topic)相关证明", required: number % 5 != 0, paperAllowed: true),
                ],
            description: "用于规模测试的合成事项：\(subject)办理\(topic)\(action)。", keywords: [topic, action]
        )
    }
}

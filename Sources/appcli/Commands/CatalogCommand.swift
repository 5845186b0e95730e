import ArgumentParser
import Foundation
import SyncCore

/// `appcli catalog search|show`: the matter catalog (事项), answered from the replica so it works offline.
struct CatalogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalog", abstract: "Search and show matters (事项) from the replica (works offline).", subcommands: [Search.self, Show.self]
    )

    struct Search: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Search matters by keyword and filters.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Keywords, e.g. 营业执照 (every word must match).") var keywords: [String] = []
        @Option(help: "real_estate, business, investment or personal.") var domain: String?
        @Flag(help: "Only matters that need nothing but the ID card (仅凭身份证可办).") var idCardOnly = false
        @Flag(help: "Only fully online matters (全程网办).") var fullyOnline = false
        @Option(help: "Most results.") var limit: Int = 20

        func validate() throws {
            if let domain, MatterDomain(rawValue: domain) == nil {
                throw ValidationError("--domain must be one of \(MatterDomain.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard limit >= 1 else { throw ValidationError("--limit must be at least 1") }
        }

        func run() async throws {
            try await withSession(global) { session in
                let replica = try catalogReplica(session)
                let wantedDomain = domain.flatMap(MatterDomain.init(rawValue:))
                let found = try replica.searchMatters(keywords.isEmpty ? nil : keywords.joined(separator: " "), limit: .max).filter { matter in
                    (wantedDomain == nil || matter.domain == wantedDomain) && (!idCardOnly || matter.idCardOnly)
                        && (!fullyOnline || matter.fullyOnline)
                }
                let page = Array(found.prefix(limit))
                if global.json { return try printJSON(page) }
                guard !page.isEmpty else { return print("no matter matches") }
                var table = Table(["编码", "事项", "部门", "跑动", "承诺时限"])
                for matter in page {
                    table.append([
                        matter.code, clip(matter.name, 30), clip(matter.departmentName ?? matter.departmentId, 20), "\(matter.onsiteVisits)次",
                        promise(matter),
                    ])
                }
                print(table.render())
                if found.count > page.count { print("… \(found.count - page.count) more; narrow the search or raise --limit") }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one matter with its materials.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Matter code, e.g. 330100-RE-0004.") var code: String

        func run() async throws {
            try await withSession(global) { session in
                let replica = try catalogReplica(session)
                guard let matter = try replica.entity(Matter.self, id: code) else {
                    throw CLIError.rejected(code: "not_found", detail: "no matter has the code '\(code)' (search with `appcli catalog search`)")
                }
                if global.json { return try printJSON(matter) }
                let bundles = try replica.entities(MatterBundle.self).filter { $0.matterCodes.contains(matter.code) }
                print("\(matter.name)  [\(matter.code)]")
                print(
                    "部门：\(matter.departmentName ?? matter.departmentId)    领域：\(matter.domain.label)    \(matter.kind == .immediate ? "即办件" : "承诺件")")
                print("法定时限：\(matter.legalDays)个工作日    承诺时限：\(promise(matter))    到现场：\(matter.onsiteVisits)次")
                let flags = [(matter.fullyOnline, "全程网办"), (matter.idCardOnly, "仅凭身份证可办"), (matter.expressDelivery, "可快递送达")]
                    .filter(\.0).map(\.1)
                if !flags.isEmpty { print(flags.joined(separator: " · ")) }
                if let description = matter.description { print(description) }
                if !matter.materials.isEmpty {
                    var table = Table(["材料", "必需", "纸质", "可用电子证照"])
                    for material in matter.materials {
                        table.append([material.name, material.required ? "是" : "否", material.paperAllowed ? "可" : "否", material.eLicenseType ?? "—"])
                    }
                    print(table.render())
                }
                if !matter.feeItemCodes.isEmpty { print("收费项目：\(matter.feeItemCodes.joined(separator: "、"))") }
                for bundle in bundles { print("属于一件事：\(bundle.name) [\(bundle.code)]") }
            }
        }
    }
}

/// `appcli bundles [CODE]`: the 一件事 bundles, or one bundle's matters, from the replica.
struct BundlesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bundles", abstract: "List the 一件事 bundles, or show one (works offline).")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "A bundle code to show its matters.") var code: String?

    func run() async throws {
        try await withSession(global) { session in
            let replica = try catalogReplica(session)
            let bundles = try replica.entities(MatterBundle.self)
            if let code {
                guard let bundle = bundles.first(where: { $0.code == code }) else {
                    throw CLIError.rejected(code: "not_found", detail: "no bundle has the code '\(code)'")
                }
                let matters = try bundle.matterCodes.compactMap { try replica.entity(Matter.self, id: $0) }
                if global.json { return try printJSON(BundleView(bundle: bundle, matters: matters)) }
                print("\(bundle.name)  [\(bundle.code)]" + (bundle.promisedDays.map { $0 == 0 ? "  当日办结" : "  承诺\($0)个工作日" } ?? ""))
                print(bundle.description)
                var table = Table(["编码", "事项", "部门"])
                for matter in matters { table.append([matter.code, matter.name, matter.departmentName ?? matter.departmentId]) }
                return print(table.render())
            }
            if global.json { return try printJSON(bundles) }
            var table = Table(["编码", "一件事", "事项数", "承诺时限"])
            for bundle in bundles {
                table.append([
                    bundle.code, bundle.name, "\(bundle.matterCodes.count)", bundle.promisedDays.map { $0 == 0 ? "当日" : "\($0)个工作日" } ?? "—",
                ])
            }
            print(table.render())
        }
    }

    private struct BundleView: Encodable {
        var bundle: MatterBundle
        var matters: [Matter]
    }
}

/// The replica, once it holds the catalog; else a clear instruction to sync first.
func catalogReplica(_ session: Session) throws -> Replica {
    let replica = try session.replica
    guard try replica.count(.matter) > 0 else {
        if session.profile.account == nil {
            throw CLIError.usage("the catalog is not on this device yet: log in (`appcli login …`), then run `appcli sync`")
        }
        throw CLIError.usage("the catalog is not on this device yet: run `appcli sync` first")
    }
    return replica
}

/// The promised time limit as the app shows it (60分钟, 即办, 5个工作日).
func promise(_ matter: Matter) -> String {
    if let minutes = matter.promisedMinutes { return "\(minutes)分钟" }
    return matter.promisedDays == 0 ? "即办" : "\(matter.promisedDays)个工作日"
}

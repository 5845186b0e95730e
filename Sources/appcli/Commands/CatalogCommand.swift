import ArgumentParser
import AsyncHTTPClient
import Foundation
import OpenAPIAsyncHTTPClient
import OpenAPIRuntime

/// `appcli catalog search|show`: the matter catalog.
struct CatalogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalog", abstract: "Search and show matters (事项).", subcommands: [Search.self, Show.self]
    )

    struct Search: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Search matters by keyword and filters.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Keywords, e.g. 营业执照.") var keywords: [String] = []
        @Option(help: "real_estate, business, investment or personal.") var domain: String?
        @Flag(help: "Only matters that need nothing but the ID card (仅凭身份证可办).") var idCardOnly = false
        @Option(help: "Page size, 1–100.") var limit: Int = 20

        func run() async throws {
            try await withAPIClient(global) { client in
                let domain = try domain.map { raw in
                    guard let value = Components.Schemas.MatterDomain(rawValue: raw) else { throw ValidationError("unknown domain \(raw)") }
                    return value
                }
                let output = try await client.listMatters(
                    query: .init(q: keywords.isEmpty ? nil : keywords.joined(separator: " "), domain: domain, idCardOnly: idCardOnly ? true : nil, limit: limit)
                )
                switch output {
                case .ok(let ok):
                    let page = try ok.body.json
                    if global.json { return try printJSON(page) }
                    var table = Table(["编码", "事项", "部门", "跑动", "承诺时限"])
                    for matter in page.items {
                        let promise = matter.promisedMinutes.map { "\($0)分钟" } ?? (matter.promisedDays == 0 ? "即办" : "\(matter.promisedDays)个工作日")
                        table.append([matter.code, matter.name, matter.departmentName, "\(matter.onsiteVisits)次", promise])
                    }
                    print(table.render())
                    if page.nextCursor != nil { print("… more results; narrow the search or raise --limit") }
                case .badRequest(let problem):
                    throw CLIError.problem(try problem.body.applicationProblemJson)
                case .undocumented(let status, _):
                    throw CLIError.unexpected(status)
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one matter with its materials.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Matter code.") var code: String

        func run() async throws {
            try await withAPIClient(global) { client in
                switch try await client.getMatter(path: .init(code: code)) {
                case .ok(let ok):
                    let matter = try ok.body.json
                    if global.json { return try printJSON(matter) }
                    print("\(matter.name)  [\(matter.code)]")
                    print("部门：\(matter.departmentName)  到现场：\(matter.onsiteVisits)次  全程网办：\(matter.fullyOnline ? "是" : "否")  仅凭身份证：\(matter.idCardOnly ? "是" : "否")")
                    var table = Table(["材料", "必需", "可用电子证照"])
                    for material in matter.materials {
                        table.append([material.name, material.required ? "是" : "否", material.eLicenseType ?? "—"])
                    }
                    if !matter.materials.isEmpty { print(table.render()) }
                case .notFound(let problem):
                    throw CLIError.problem(try problem.body.applicationProblemJson)
                case .undocumented(let status, _):
                    throw CLIError.unexpected(status)
                }
            }
        }
    }
}

/// Runs `body` with a client generated from openapi.yaml, shutting the HTTP client down afterwards.
func withAPIClient(_ global: GlobalOptions, _ body: (Client) async throws -> Void) async throws {
    let httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
    let client = Client(serverURL: try global.serverURL, transport: AsyncHTTPClientTransport(configuration: .init(client: httpClient)))
    do {
        try await body(client)
    } catch let error as CLIError {
        try? await httpClient.shutdown()
        FileHandle.standardError.write(Data((error.message + "\n").utf8))
        throw ExitCode(error.exitCode)
    } catch let error as ClientError {
        try? await httpClient.shutdown()
        FileHandle.standardError.write(Data("error: cannot reach the server (\(error.underlyingError))\n".utf8))
        throw ExitCode(CLIError.unreachableExitCode)
    } catch {
        try? await httpClient.shutdown()
        throw error
    }
    try await httpClient.shutdown()
}

func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// Failures shown to the user as the server's problem (title, detail, code), never as a stack trace.
/// Exit codes: 1 the server refused the request (4xx), 2 usage, 3 server unreachable, 4 server error.
enum CLIError: Error {
    case problem(Components.Schemas.Problem)
    case unexpected(Int)

    static let unreachableExitCode: Int32 = 3

    var message: String {
        switch self {
        case .problem(let problem):
            "error: \(problem.title)" + (problem.detail.map { " — \($0)" } ?? "") + " [\(problem.code)]"
        case .unexpected(let status):
            "error: unexpected HTTP status \(status)"
        }
    }

    var exitCode: Int32 {
        switch self {
        case .problem(let problem): problem.status >= 500 ? 4 : 1
        case .unexpected(let status): status >= 500 ? 4 : 1
        }
    }
}

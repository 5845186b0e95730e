import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import OneTripAPI
import Testing

@testable import AppAPI

@Suite struct OpsTests {
    @Test(arguments: TestEngine.enabled)
    func healthAndReadinessReportTheDatabase(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let health = try await client.execute(uri: "/healthz", method: .get)
            #expect(health.status == .ok && health.text.contains("ok"))
            let ready = try await client.execute(uri: "/readyz", method: .get).json(Components.Schemas.Readiness.self)
            #expect(ready.database.rawValue == engine.rawValue)
            #expect(ready.schemaVersion == Migrator.latestVersion(of: AppMigrations.all))
        }
    }

    @Test(arguments: TestEngine.enabled)
    func unknownRoutesAndMethodsAreProblems(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let unknown = try await client.execute(uri: "/v1/nothing-here", method: .get)
            #expect(unknown.status == .notFound)
            #expect(try unknown.problem().code == "not_found")
            let wrongMethod = try await client.execute(uri: "/v1/matters", method: .delete)
            #expect((400..<500).contains(wrongMethod.status.code))
            _ = try wrongMethod.problem()
        }
    }

    @Test(arguments: TestEngine.enabled)
    func oversizedBodiesAre413Problems(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let body = ByteBuffer(repeating: UInt8(ascii: "x"), count: BodyLimitMiddleware.defaultLimit + 1)
            let response = try await client.execute(uri: "/v1/matters", method: .post, headers: [.contentType: "application/json"], body: body)
            #expect(response.status == .contentTooLarge)
            #expect(try response.problem().code == "payload_too_large")
        }
    }

    @Test func requestIDsAreEchoedAndAppearInProblems() async throws {
        try await withTestApp(.sqlite) { client in
            let response = try await client.execute(uri: "/v1/matters/NOPE", method: .get, headers: [.requestID: "trace-abc-123"])
            #expect(response.headers[.requestID] == "trace-abc-123")
            #expect(try response.problem().requestId == "trace-abc-123")
            let generated = try await client.execute(uri: "/healthz", method: .get, headers: [.requestID: "bad id with spaces"])
            let id = try #require(generated.headers[.requestID])
            #expect(id != "bad id with spaces" && !id.isEmpty)
        }
    }

    @Test func metricsCountRequestsByRoute() async throws {
        try await withTestApp(.sqlite) { client in
            _ = try await client.execute(uri: "/v1/departments", method: .get)
            let metrics = try await client.execute(uri: "/metrics", method: .get)
            #expect(metrics.status == .ok)
            #expect(metrics.text.contains("/v1/departments"), "metrics should be labelled by route")
        }
    }

    @Test func theContractIsServed() async throws {
        try await withTestApp(.sqlite) { client in
            let response = try await client.execute(uri: "/openapi.yaml", method: .get)
            #expect(response.status == .ok)
            let onDisk = try String(contentsOf: repositoryRoot.appendingPathComponent("openapi.yaml"), encoding: .utf8)
            #expect(response.text == onDisk)
        }
    }

    @Test func dataSurvivesARestart() async throws {
        try await withFreshDatabase(.sqlite) { location in
            for _ in 0..<2 {
                try await withApp(testConfig(location)) { client in
                    let page = try await client.execute(uri: "/v1/matters?\(query(["q": "不动产"]))", method: .get).json(MatterPage.self)
                    #expect(!page.items.isEmpty)
                }
            }
        }
    }
}

import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import AppAPI

/// What the schemathesis stage (scripts/schemathesis) and its follow-up probes found: inputs that answered 500 on
/// PostgreSQL (which refuses a NUL in text) or were accepted beyond the contract's bounds.
@Suite struct ContractFuzzTests {
    @Test("S11: a NUL in a query, an id, an identifier or a name is a 4xx on both engines, never a 500", arguments: TestEngine.enabled)
    func nulBytesNeverReachTheDatabase(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let citizen = try await client.loginCitizen()
            let clerk = try await client.loginStaff(Clerks.realEstate)
            let admin = try await client.loginStaff(Demo.admin)
            let nul = "a\u{0}b"
            let bearer: HTTPFields = [.authorization: "Bearer \(citizen.accessToken)"]
            let answers: [(String, HTTPResponse.Status)] = [
                ("q", try await client.get("/v1/matters?q=a%00b").status),
                ("department", try await client.get("/v1/matters?department=a%00b").status),
                ("faq q", try await client.get("/v1/faq?q=a%00b").status),
                ("queue centre", try await client.post("/v1/queue-tickets", json: ["centerId": nul], token: citizen.accessToken).status),
                (
                    "queue matter",
                    try await client.post("/v1/queue-tickets", json: ["centerId": "sc-city", "matterCode": nul], token: citizen.accessToken).status
                ),
                ("cancel ticket", try await client.cancelTicket(citizen.accessToken, "a%00b").status),
                ("revoke device", try await client.execute(uri: "/v1/me/devices/a%00b", method: .delete, headers: bearer).status),
                ("login id", try await client.login(["idNumber": nul], password: "Whatever2026").status),
                ("login username", try await client.login(["username": nul], password: "Whatever2026").status),
                ("device name", try await client.login(["idNumber": Demo.citizen2.idNumber], password: Demo.citizen2.password, device: nul).status),
                (
                    "register name",
                    try await client.post(
                        "/v1/auth/register",
                        json: [
                            "kind": "citizen", "idNumber": "11010519491231002X", "name": nul, "phone": "13800000001", "password": "Hangzhou2026ok",
                        ]
                    ).status
                ),
                (
                    "staff name",
                    try await client.post(
                        "/v1/admin/accounts",
                        json: [
                            "kind": "clerk", "username": "clerk.nul", "name": nul, "password": "Hangzhou2026ok", "departmentId": "hz-tax",
                        ], token: admin.accessToken
                    ).status
                ),
                ("workbench matter", try await client.get("/v1/workbench/cases?matter=a%00b", token: clerk.accessToken).status),
            ]
            for (input, status) in answers {
                #expect((400..<500).contains(Int(status.code)) || (input == "workbench matter" && status == .ok), "\(input): \(status)")
            }
        }
    }

    @Test("S11: the contract's bounds hold — a workbench matter filter over 64 characters is 400, a device name over 64 is 422")
    func boundsOfTheContractAreEnforced() async throws {
        try await withTestApp(.sqlite) { client in
            let clerk = try await client.loginStaff(Clerks.realEstate)
            let long = try await client.get("/v1/workbench/cases?matter=\(String(repeating: "0", count: 65))", token: clerk.accessToken)
            #expect(try long.status == .badRequest && long.problem().code == "invalid_parameter")
            let name = String(repeating: "机", count: 65)
            let device = try await client.login(["idNumber": Demo.citizen.idNumber], password: Demo.citizen.password, device: name)
            #expect(try device.status == .unprocessableContent && device.problem().code == "invalid_device_name")
        }
    }
}

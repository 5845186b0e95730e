import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import OneTripAPI
import SyncCore
import Testing

@testable import AppAPI

@Suite struct RegistrationTests {
    @Test(arguments: TestEngine.enabled)
    func citizensAndEnterprisesRegisterOnceEach(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let citizen: [String: Any] = [
                "kind": "citizen", "idNumber": "11010519491231002x", "name": "张三", "phone": "13800000001", "password": "Hangzhou2026ok",
            ]
            let created = try await client.post("/v1/auth/register", json: citizen)
            #expect(created.status == .accepted)
            let company: [String: Any] = [
                "kind": "enterprise", "creditCode": "91350100M000100Y43", "name": "某某科技有限公司", "phone": "13900000002", "password": "Company2026ok",
            ]
            #expect(try await client.post("/v1/auth/register", json: company).status == .accepted)
            // The new citizen can log in and sees the account.
            let login = try await client.login(["idNumber": "11010519491231002X"], password: "Hangzhou2026ok")
            #expect(login.status == .ok)
            let account = try login.json(TokenResponse.self).account
            #expect(account.kind == .citizen && account.idNumberMasked == "110105********002X" && account.phoneMasked == "138****0001")
            #expect(try await client.login(["creditCode": "91350100M000100Y43"], password: "Company2026ok").status == .ok)
        }
    }

    @Test(arguments: TestEngine.enabled)
    func badIdentifiersAndWeakPasswordsAre422NamingTheField(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let cases: [([String: Any], String, String)] = [
                (["kind": "citizen", "idNumber": "110105194912310021"], "invalid_id_number", "/idNumber"),
                (["kind": "citizen", "idNumber": "11010519490231002X"], "invalid_id_number", "/idNumber"),
                (["kind": "enterprise", "creditCode": "91350100M000100Y44"], "invalid_credit_code", "/creditCode"),
                (["kind": "citizen", "idNumber": "11010519491231002X", "password": "short1"], "weak_password", "/password"),
                (["kind": "citizen", "idNumber": "11010519491231002X", "password": "onlyletterspassword"], "weak_password", "/password"),
                (["kind": "citizen", "idNumber": "11010519491231002X", "phone": "12345"], "invalid_phone", "/phone"),
            ]
            for (fields, code, pointer) in cases {
                var body: [String: Any] = ["name": "李四", "phone": "13800000003", "password": "Strong2026pass"]
                for (key, value) in fields { body[key] = value }
                let response = try await client.post("/v1/auth/register", json: body)
                #expect(response.status == .unprocessableContent, "\(fields)")
                let problem = try response.problem()
                #expect(problem.code == code, "\(fields): \(problem.code)")
                #expect(problem.errors?.contains { $0.pointer == pointer } == true, "\(fields) should name \(pointer)")
            }
            let several = try await client.post(
                "/v1/auth/register", json: ["kind": "citizen", "idNumber": "1", "name": "", "phone": "1", "password": "x"])
            #expect(try several.problem().code == "validation_failed")
            #expect(try several.problem().errors?.count ?? 0 >= 4)
        }
    }
}

@Suite struct SessionTests {
    @Test(arguments: TestEngine.enabled)
    func loginGivesTokensThatOpenMeAndDevices(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let session = try await client.loginCitizen()
            #expect(session.tokenType == .bearer && session.expiresIn == 900 && session.deviceId.hasPrefix("dev_"))
            let me = try await client.get("/v1/me", token: session.accessToken)
            #expect(me.status == .ok)
            #expect(try me.json(Components.Schemas.Account.self).id == session.account.id)
            let devices = try await client.get("/v1/me/devices", token: session.accessToken)
            struct Items: Decodable { var items: [Components.Schemas.Device] }
            let list = try devices.json(Items.self).items
            #expect(list.count == 1 && list[0].current && !list[0].revoked && list[0].name == "测试手机")
            let anonymous = try await client.get("/v1/me")
            #expect(anonymous.status == .unauthorized)
            #expect(try anonymous.problem().code == "unauthenticated")
            #expect(anonymous.headers[.wwwAuthenticate] == "Bearer")
        }
    }

    @Test(arguments: TestEngine.enabled)
    func wrongPasswordsAndUnknownAccountsLookTheSame(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let wrong = try await client.login(["idNumber": Demo.citizen.idNumber], password: "Wrong2026password")
            let unknown = try await client.login(["idNumber": "11010519491231002X"], password: "Wrong2026password")
            #expect(wrong.status == .unauthorized && unknown.status == .unauthorized)
            let (a, b) = (try wrong.problem(), try unknown.problem())
            #expect(a.code == "invalid_credentials" && a.code == b.code && a.detail == b.detail && a.title == b.title)
            // A citizen's ID number does not log in through the username door.
            let mismatched = try await client.login(["username": Demo.citizen.idNumber], password: Demo.citizen.password)
            #expect(mismatched.status == .unauthorized)
            let two = try await client.post(
                "/v1/auth/login",
                json: ["idNumber": Demo.citizen.idNumber, "username": "admin", "password": "x", "device": ["name": "d", "platform": "cli"]])
            #expect(two.status == .badRequest)
        }
    }

    @Test(arguments: TestEngine.enabled)
    func repeatedFailuresAreThrottledWithoutRevealingRegistration(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            for identifier in [Demo.citizen.idNumber, "11010519491231002X"] {
                for _ in 0..<LoginThrottle.perIdentifierAndNetwork.limit {
                    #expect(try await client.login(["idNumber": identifier], password: "Wrong2026password").status == .unauthorized)
                }
                let blocked = try await client.login(["idNumber": identifier], password: "Wrong2026password")
                #expect(blocked.status == .tooManyRequests)
                #expect(try blocked.problem().code == "too_many_attempts")
                let retry = try #require(blocked.headers[.retryAfter].flatMap(Int.init))
                #expect(retry > 0 && retry <= 15 * 60)
            }
            // Even the right password waits out the lockout.
            #expect(try await client.login(["idNumber": Demo.citizen.idNumber], password: Demo.citizen.password).status == .tooManyRequests)
            // Other accounts are unaffected.
            #expect(try await client.login(["idNumber": Demo.citizen2.idNumber], password: Demo.citizen2.password).status == .ok)
        }
    }

    @Test(arguments: TestEngine.enabled)
    func refreshRotatesAndReuseRevokesTheFamily(engine: TestEngine) async throws {
        let clock = ManualClock()
        try await withTestApp(engine, runtime: .manual(clock)) { client in
            let first = try await client.loginCitizen()
            let second = try await client.post("/v1/auth/refresh", json: ["refreshToken": first.refreshToken])
            #expect(second.status == .ok)
            let rotated = try second.json(TokenResponse.self)
            #expect(rotated.refreshToken != first.refreshToken && rotated.deviceId == first.deviceId)
            #expect(try await client.get("/v1/me", token: rotated.accessToken).status == .ok)
            // The first refresh token is replayed (stolen) after the retry grace: the whole family dies.
            clock.advance(by: IdentityService.refreshReuseGrace + .seconds(1))
            let replay = try await client.post("/v1/auth/refresh", json: ["refreshToken": first.refreshToken])
            #expect(replay.status == .unauthorized)
            #expect(try replay.problem().code == "refresh_token_reused")
            let afterwards = try await client.post("/v1/auth/refresh", json: ["refreshToken": rotated.refreshToken])
            #expect(afterwards.status == .unauthorized)
            #expect(try await client.get("/v1/me", token: rotated.accessToken).status == .unauthorized)
            #expect(try await client.post("/v1/auth/refresh", json: ["refreshToken": "rt_nonsense"]).problem().code == "invalid_refresh_token")
        }
    }

    @Test(arguments: TestEngine.enabled)
    func logoutAndDeviceRevocationEndSessions(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let phone = try await client.loginCitizen(device: "手机")
            let tablet = try await client.loginCitizen(device: "平板")
            let stranger = try await client.loginCitizen(Demo.citizen2)
            // Nobody revokes another account's device.
            let foreign = try await client.execute(
                uri: "/v1/me/devices/\(phone.deviceId)", method: .delete, headers: [.authorization: "Bearer \(stranger.accessToken)"])
            #expect(foreign.status == .notFound)
            #expect(try await client.get("/v1/me", token: phone.accessToken).status == .ok)
            // The phone revokes the lost tablet.
            let revoke = try await client.execute(
                uri: "/v1/me/devices/\(tablet.deviceId)", method: .delete, headers: [.authorization: "Bearer \(phone.accessToken)"])
            #expect(revoke.status == .noContent)
            #expect(try await client.get("/v1/me", token: tablet.accessToken).status == .unauthorized)
            #expect(try await client.post("/v1/auth/refresh", json: ["refreshToken": tablet.refreshToken]).status == .unauthorized)
            // Logout ends the phone's own session.
            #expect(try await client.post("/v1/auth/logout", json: [:], token: phone.accessToken).status == .noContent)
            #expect(try await client.get("/v1/me", token: phone.accessToken).status == .unauthorized)
        }
    }

    @Test(arguments: TestEngine.enabled)
    func rolesGuardStaffRoutes(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let citizen = try await client.loginCitizen()
            let kiosk = try await client.loginStaff(Demo.kiosk)
            let admin = try await client.loginStaff(Demo.admin)
            let clerk: [String: Any] = [
                "kind": "clerk", "username": "clerk.new", "name": "王五", "password": "Clerk2026new", "departmentId": "hz-market-supervision",
            ]
            for token in [citizen.accessToken, kiosk.accessToken] {
                let forbidden = try await client.post("/v1/admin/accounts", json: clerk, token: token)
                #expect(forbidden.status == .forbidden)
                #expect(try forbidden.problem().code == "forbidden")
            }
            #expect(try await client.post("/v1/admin/accounts", json: clerk).status == .unauthorized)
            let created = try await client.post("/v1/admin/accounts", json: clerk, token: admin.accessToken)
            #expect(created.status == .created, "\(created.text)")
            #expect(try await client.loginStaff((username: "clerk.new", password: "Clerk2026new")).account.kind == .clerk)
            var noDepartment = clerk
            noDepartment["username"] = "clerk.other"
            noDepartment["departmentId"] = "no-such-department"
            let refused = try await client.post("/v1/admin/accounts", json: noDepartment, token: admin.accessToken)
            #expect(try refused.problem().code == "unknown_department")
        }
    }

    @Test(arguments: TestEngine.enabled)
    func devicePublicKeysMustBeRealP256Points(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let key = P256.Signing.PrivateKey().publicKey.x963Representation
            let good = ["kty": "EC", "crv": "P-256", "x": base64URL(key[1..<33]), "y": base64URL(key[33..<65])]
            #expect(try await client.login(["idNumber": Demo.citizen.idNumber], password: Demo.citizen.password, publicKey: good).status == .ok)
            var bad = good
            bad["y"] = base64URL(Data(repeating: 7, count: 32))
            let refused = try await client.login(["idNumber": Demo.citizen.idNumber], password: Demo.citizen.password, publicKey: bad)
            #expect(refused.status == .unprocessableContent)
            #expect(try refused.problem().code == "invalid_public_key")
        }
    }
}

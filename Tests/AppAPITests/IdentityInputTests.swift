import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

@testable import AppAPI

/// Identity input at and past the contract's bounds, and sessions under races: device revocation, refresh retries,
/// token expiry.
@Suite struct IdentityInputTests {
    @Test("S28: a trailing newline or a control character in a phone, name, username or device name is refused", arguments: TestEngine.enabled)
    func controlCharactersAreRefused(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let admin = try await client.loginStaff(Demo.admin)
            for (field, value, code) in [
                ("phone", "13812345678\n", "invalid_phone"), ("phone", "1381234567\n", "invalid_phone"), ("name", "张三\n", "invalid_name"),
                ("name", "张\u{202E}三", "invalid_name"), ("name", "王\u{0007}", "invalid_name"), ("name", "   ", "invalid_name"),
            ] {
                var body = FreshIdentity.registration()
                body[field] = value
                let response = try await client.post("/v1/auth/register", json: body)
                #expect(response.status == .unprocessableContent, "\(field) \(value.debugDescription)")
                #expect(try response.problem().code == code)
                #expect(try response.problem().errors?.contains { $0.pointer == "/\(field)" } == true)
            }
            for username in ["clerk.new\n", "Clerk.new", "x\u{0000}yz", "ab"] {
                let response = try await client.post(
                    "/v1/admin/accounts", json: ["kind": "admin", "username": username, "name": "管理员", "password": "Admin2026strong"],
                    token: admin.accessToken)
                #expect(try response.problem().code == "invalid_username", "\(username.debugDescription)")
            }
            for name in ["phone\n", "a\u{0000}b", ""] {
                let response = try await client.login(["idNumber": Demo.citizen.idNumber], password: Demo.citizen.password, device: name)
                #expect(response.status == .unprocessableContent)
                #expect(try response.problem().errors?.first?.pointer == "/device/name")
            }
        }
    }

    @Test("S33: identity bounds of the contract are enforced, naming the field, and equal the contract's", arguments: TestEngine.enabled)
    func contractBoundsAreEnforced(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let session = try await client.loginCitizen()
            // At the bound: accepted.
            #expect(
                try await client.login(
                    ["idNumber": Demo.citizen.idNumber], password: Demo.citizen.password, device: String(repeating: "机", count: 64)
                ).status == .ok)
            var longName = FreshIdentity.registration()
            longName["name"] = String(repeating: "名", count: 64)
            #expect(try await client.post("/v1/auth/register", json: longName).status == .accepted)
            // Past it: refused with the field named.
            let login = { (identifier: [String: String], password: String, device: String) in
                try await client.login(identifier, password: password, device: device)
            }
            let refusals: [(TestResponse, HTTPResponse.Status, String)] = [
                (
                    try await login(["idNumber": Demo.citizen.idNumber], Demo.citizen.password, String(repeating: "机", count: 65)),
                    .unprocessableContent, "/device/name"
                ),
                (try await login(["idNumber": Demo.citizen.idNumber + "0"], "x", "d"), .badRequest, "/idNumber"),
                (try await login(["creditCode": String(repeating: "9", count: 19)], "x", "d"), .badRequest, "/creditCode"),
                (try await login(["username": String(repeating: "a", count: 65)], "x", "d"), .badRequest, "/username"),
                (try await login(["idNumber": Demo.citizen.idNumber], String(repeating: "p", count: 257), "d"), .badRequest, "/password"),
                (
                    try await client.post("/v1/auth/register", json: longName.merging(["name": String(repeating: "名", count: 65)]) { $1 }),
                    .unprocessableContent, "/name"
                ),
                (
                    try await client.post("/v1/auth/register", json: longName.merging(["idNumber": String(repeating: "1", count: 10_000)]) { $1 }),
                    .unprocessableContent, "/idNumber"
                ),
                (try await client.post("/v1/auth/refresh", json: ["refreshToken": String(repeating: "r", count: 513)]), .badRequest, "/refreshToken"),
                (try await client.post("/v1/auth/refresh", json: ["refreshToken": ""]), .badRequest, "/refreshToken"),
                (
                    try await client.execute(
                        uri: "/v1/me/devices/" + String(repeating: "d", count: 65), method: .delete,
                        headers: [.authorization: "Bearer \(session.accessToken)"]),
                    .badRequest, "id"
                ),
            ]
            for (response, status, pointer) in refusals {
                #expect(response.status == status, "\(pointer): \(response.status) \(response.text)")
                #expect(try response.problem().errors?.contains { $0.pointer == pointer } == true, "\(pointer) should be named: \(response.text)")
            }
            // The code's bounds are the contract's.
            let contract = try String(contentsOf: repositoryRoot.appendingPathComponent("openapi.yaml"), encoding: .utf8)
            for expected in [
                "DisplayName:\n      type: string\n      description: 1–64 characters, not blank, without control, format (bidi) or line-separator characters.\n      minLength: 1\n      maxLength: \(IdentityInput.maxNameLength)",
                "idNumber: { type: string, maxLength: \(IdentityInput.identifierLength) }",
                "username: { type: string, maxLength: \(IdentityInput.usernameLengths.upperBound) }",
                "password: { type: string, maxLength: \(IdentityInput.maxLoginPasswordLength),",
                "refreshToken: { type: string, minLength: 1, maxLength: \(IdentityInput.maxRefreshTokenLength) }",
                "      minLength: 10\n      maxLength: \(PasswordPolicy.maxBytes)",
            ] {
                #expect(contract.contains(expected), "openapi.yaml should say \(expected)")
            }
            #expect(IdentityInput.maxDeviceNameLength == IdentityInput.maxNameLength, "device names use DisplayName")
        }
    }

    @Test("S26: once the DELETE of a device has returned, no request with its token answers 200", arguments: TestEngine.enabled)
    func revokedDevicesStayRevokedOnThisInstance(engine: TestEngine) async throws {
        let clock = ManualClock()
        try await withTestApp(engine, runtime: .manual(clock)) { client in
            let phone = try await client.loginCitizen(device: "手机")
            for round in 0..<5 {
                let tablet = try await client.loginCitizen(device: "平板\(round)")
                let revoked = SharedFlag()
                let lateSuccesses = try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<6 {
                        group.addTask {
                            var late = 0
                            for _ in 0..<40 {
                                // Until the DELETE returns, every check reads the database afresh (the cached state is stale).
                                let afterDelete = revoked.isSet
                                if !afterDelete { clock.advance(by: TokenService.deviceStatusTTL + .seconds(1)) }
                                let status = try await client.get("/v1/me", token: tablet.accessToken).status
                                if afterDelete && status == .ok { late += 1 }
                            }
                            return late
                        }
                    }
                    try await Task.sleep(for: .milliseconds(20))
                    let delete = try await client.execute(
                        uri: "/v1/me/devices/\(tablet.deviceId)", method: .delete, headers: [.authorization: "Bearer \(phone.accessToken)"])
                    #expect(delete.status == .noContent)
                    revoked.set()
                    return try await group.reduce(0, +)
                }
                #expect(lateSuccesses == 0, "round \(round): \(lateSuccesses) requests answered 200 after the DELETE returned")
            }
        }
    }

    @Test("S26: a device read that began before a revocation here cannot mark the device active again", arguments: TestEngine.enabled)
    func staleDeviceReadsLoseToARevocation(engine: TestEngine) async throws {
        try await withMigratedDatabase(engine) { database in
            let gate = ReadGate()
            // The database read of a request that started just before the revocation committed: it answers "active".
            let tokens = TokenService(
                database: database,
                readRevoked: { _ in
                    await gate.enterAndWait()
                    return false
                })
            let request = Task { try await tokens.isActive(deviceID: "dev_lost_phone") }
            await gate.waitUntilEntered()
            tokens.deviceRevoked("dev_lost_phone")  // the DELETE commits and returns here
            gate.release()
            _ = try await request.value
            #expect(try await tokens.isActive(deviceID: "dev_lost_phone") == false, "a request after the DELETE must be refused")
        }
    }

    @Test("S32: two refreshes racing with one refresh token both succeed, and the session lives on", arguments: TestEngine.enabled)
    func racingRefreshesBothSucceed(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let session = try await client.loginCitizen()
            let (a, b) = try await (
                client.post("/v1/auth/refresh", json: ["refreshToken": session.refreshToken]),
                client.post("/v1/auth/refresh", json: ["refreshToken": session.refreshToken])
            )
            #expect(a.status == .ok && b.status == .ok, "\(a.text) \(b.text)")
            for pair in [try a.json(TokenResponse.self), try b.json(TokenResponse.self)] {
                #expect(try await client.get("/v1/me", token: pair.accessToken).status == .ok)
            }
            #expect(try await client.post("/v1/auth/refresh", json: ["refreshToken": try a.json(TokenResponse.self).refreshToken]).status == .ok)
        }
    }

    @Test("S32: a refresh token reused after the grace window, or after the family moved on, revokes the family", arguments: TestEngine.enabled)
    func lateReuseRevokes(engine: TestEngine) async throws {
        let clock = ManualClock()
        try await withTestApp(engine, runtime: .manual(clock)) { client in
            let first = try await client.loginCitizen()
            let second = try await client.post("/v1/auth/refresh", json: ["refreshToken": first.refreshToken]).json(TokenResponse.self)
            clock.advance(by: IdentityService.refreshReuseGrace + .seconds(1))
            let late = try await client.post("/v1/auth/refresh", json: ["refreshToken": first.refreshToken])
            #expect(try late.problem().code == "refresh_token_reused")
            #expect(try await client.get("/v1/me", token: second.accessToken).status == .unauthorized)

            let other = try await client.loginCitizen(device: "另一台")
            let next = try await client.post("/v1/auth/refresh", json: ["refreshToken": other.refreshToken]).json(TokenResponse.self)
            #expect(try await client.post("/v1/auth/refresh", json: ["refreshToken": next.refreshToken]).status == .ok)
            // Within the window, but two generations old: a copy, not a retry.
            #expect(try await client.post("/v1/auth/refresh", json: ["refreshToken": other.refreshToken]).problem().code == "refresh_token_reused")
        }
    }

    @Test("S32: an access token is refused five seconds after exp, whatever the iat tolerance", arguments: TestEngine.enabled)
    func expiredTokensStopWorkingPromptly(engine: TestEngine) async throws {
        try await withTestAppDatabase(engine) { client, database in
            let session = try await client.loginCitizen()
            let (kid, key) = try await Forge.serverKey(database)
            let now = Int(Date().timeIntervalSince1970)
            var claims = Forge.goodClaims(sub: session.account.id, did: session.deviceId)
            claims["iat"] = now - 900
            func status(exp: Int) async throws -> HTTPResponse.Status {
                claims["exp"] = exp
                return try await client.get(
                    "/v1/me", token: try Forge.token(header: ["alg": "ES256", "typ": "JWT", "kid": kid], claims: claims, key: key)
                ).status
            }
            #expect(try await status(exp: now - 2) == .ok)
            #expect(try await status(exp: now - 10) == .unauthorized)
            // iat a little ahead (another instance's clock) is still fine.
            claims["iat"] = now + 30
            #expect(try await status(exp: now + 600) == .ok)
        }
    }
}

/// A flag tasks set and read.
final class SharedFlag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}

/// Holds a database read until the test lets it go.
final class ReadGate: Sendable {
    private let state = Mutex<(entered: Bool, released: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, false, []))

    /// Called by the read: marks it entered, then waits for `release`.
    func enterAndWait() async {
        await withCheckedContinuation { continuation in
            let resume = state.withLock { state -> Bool in
                state.entered = true
                if state.released { return true }
                state.waiters.append(continuation)
                return false
            }
            if resume { continuation.resume() }
        }
    }

    func waitUntilEntered() async {
        while !state.withLock({ $0.entered }) { try? await Task.sleep(for: .milliseconds(5)) }
    }

    func release() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.released = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

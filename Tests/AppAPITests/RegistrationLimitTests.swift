import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import AppAPI

/// Registration and password checks under load and against enumeration: the bcrypt pool, the per-network limit, the
/// uniform answer and timing.
@Suite(.serialized) struct RegistrationLimitTests {
    @Test("S6: while 80 registrations and logins hash at once, catalog reads keep a bounded latency", arguments: TestEngine.enabled)
    func catalogReadsStayFastDuringAHashFlood(engine: TestEngine) async throws {
        // A real server process, driven from threads of their own: the test process's other suites then share only
        // the CPU with it, not its task pool.
        try await withFreshDatabase(engine) { location in
            let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("onetrip-flood-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: dataDir) }
            var arguments = ["--data-dir", dataDir.path, "--trusted-proxy", "127.0.0.1"]
            if case .postgres(let url) = location { arguments += ["--database-url", url.description] }
            let server = try await ServerProcess.start(
                arguments: arguments, environment: ["APPAPI_BCRYPT_COST": "11", "APPAPI_REGISTRATIONS_PER_HOUR": "0"])
            let port = server.baseURL.port!
            let read = { @Sendable in RawSocket.exchange(port: port, method: "GET", path: "/v1/matters?limit=1") }
            // What reads cost on this machine right now (other suites run in parallel), to judge the flood against.
            let quiet = (0..<10).map { _ in read() }
            #expect(quiet.allSatisfy { $0.status == 200 })
            async let flood = onThreads(80) { index in
                let client = ["X-Forwarded-For": "198.51.\(index / 200).\(index % 200 + 1)"]
                return index.isMultiple(of: 2)
                    ? RawSocket.exchange(
                        port: port, method: "POST", path: "/v1/auth/register", headers: client, body: Self.json(FreshIdentity.registration()))
                    : RawSocket.exchange(
                        port: port, method: "POST", path: "/v1/auth/login", headers: client,
                        body: Self.json([
                            "idNumber": FreshIdentity.residentID(), "password": "Wrong2026password", "device": ["name": "d", "platform": "cli"],
                        ]))
            }
            let during = await onThreads(1) { _ in (0..<20).map { _ in read() } }.flatMap { $0 }
            let outcomes = await flood
            _ = try await server.stop()
            #expect(during.allSatisfy { $0.status == 200 })
            // 80 cost-11 hashes queued where SQLite's queries run hold a read up for seven seconds on an idle two-core
            // machine; the bound allows for other suites loading the machine meanwhile.
            let worst = during.map(\.seconds).max() ?? 0
            let bound = max(2.0, 5 * (quiet.map(\.seconds).max() ?? 0) + 0.5)
            #expect(worst < bound, "catalog reads took up to \(worst) s during the flood (quiet: \(quiet.map(\.seconds).max() ?? 0) s)")
            #expect(outcomes.allSatisfy { [202, 401, 503].contains($0.status) }, "\(outcomes.map(\.status))")
            #expect(outcomes.contains { $0.status == 202 })
        }
    }

    static func json(_ object: Any) -> String { String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self) }

    @Test("S6: when the bcrypt queue is full, logins get 503 server_busy with Retry-After")
    func aFullQueueAnswersBusy() async throws {
        try await withTestApp(
            .sqlite,
            configure: {
                // Cost 13 holds the one worker for about a second, longer than 24 throttle transactions take even on a
                // machine busy with the rest of the suite (cost 10 was not always).
                $0.bcryptCost = 13
                $0.dev = false
                $0.bcryptThreads = 1
                $0.bcryptQueue = 0
            }
        ) { client, _ in
            let responses = try await withThrowingTaskGroup(of: TestResponse.self) { group in
                // One worker and no queue: while the first login holds the worker (a quarter of a second), the others
                // must be refused. 24 of them (below the per-network limit of 30) overlap even when each spends tens of
                // milliseconds in its throttle transaction on a loaded machine; 8 did not always.
                for _ in 0..<24 { group.addTask { try await client.login(["idNumber": FreshIdentity.residentID()], password: "Wrong2026password") } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let busy = responses.filter { $0.status == .serviceUnavailable }
            #expect(!busy.isEmpty)
            for response in busy {
                #expect(try response.problem().code == "server_busy")
                #expect((response.headers[.retryAfter].flatMap(Int.init) ?? 0) >= 1)
            }
        }
    }

    @Test("S6: a registration for a taken identifier computes no hash", arguments: TestEngine.enabled)
    func takenIdentifiersAreNotHashed(engine: TestEngine) async throws {
        try await withMigratedDatabase(engine) { database in
            let pool = BcryptPool(threads: 1, maxQueued: 4)
            let hasher = PasswordHasher(cost: 4, pool: pool)
            let identity = IdentityService(
                database: database, tokens: TokenService(database: database), hasher: hasher, registrationsPerHour: 0, runtime: .live)
            // The hasher makes its decoy hash once, in the background; let it finish so it is not counted as the second
            // registration's.
            try await hasher.imitateHash()
            let idNumber = FreshIdentity.residentID()
            try await identity.register(
                kind: .citizen, idNumber: idNumber, creditCode: nil, name: "甲", phone: "13800000001", password: "First2026pass", network: nil)
            let afterFirst = pool.computations
            try await identity.register(
                kind: .citizen, idNumber: idNumber, creditCode: nil, name: "乙", phone: "13800000002", password: "Second2026pass", network: nil)
            #expect(pool.computations == afterFirst, "the second registration hashed")
            await pool.shutdown()
        }
    }

    @Test("S6: registrations from one network past the hourly limit get 429 with Retry-After; others are unaffected", arguments: TestEngine.enabled)
    func registrationsAreLimitedPerNetwork(engine: TestEngine) async throws {
        let clock = ManualClock()
        try await withTestApp(
            engine, live: true,
            configure: {
                $0.trustedProxies = loopbackProxies
                $0.runtime = .manual(clock)
            }
        ) { client, _ in
            for _ in 0..<RegistrationThrottle.defaultPerHour {
                #expect(try await client.post("/v1/auth/register", json: FreshIdentity.registration(), from: "203.0.113.9").status == .accepted)
            }
            // Taken or free, every registration counts, so the limit tells nothing either.
            let limited = try await client.post(
                "/v1/auth/register", json: FreshIdentity.registration(idNumber: Demo.citizen.idNumber), from: "203.0.113.9")
            #expect(limited.status == .tooManyRequests)
            #expect(try limited.problem().code == "too_many_attempts")
            let retry = try #require(limited.headers[.retryAfter].flatMap(Int.init))
            #expect(retry > 0 && retry <= 3600)
            #expect(try await client.post("/v1/auth/register", json: FreshIdentity.registration(), from: "203.0.113.10").status == .accepted)
            clock.advance(by: .seconds(3601))
            #expect(try await client.post("/v1/auth/register", json: FreshIdentity.registration(), from: "203.0.113.9").status == .accepted)
        }
    }

    @Test("S15: registering a taken and a free identifier gives the same answer in the same time", arguments: TestEngine.enabled)
    func registrationDoesNotRevealAccounts(engine: TestEngine) async throws {
        try await withTestApp(engine, configure: { $0.bcryptCost = 10 }) { client, _ in
            var taken: [Double] = []
            var free: [Double] = []
            var bodies: Set<String> = []
            for round in 0..<6 {
                let squat = FreshIdentity.registration(idNumber: Demo.citizen.idNumber, password: "Squat2026pass\(round)")
                taken.append(
                    try await seconds {
                        let response = try await client.post("/v1/auth/register", json: squat)
                        #expect(response.status == .accepted)
                        bodies.insert(response.text)
                    })
                free.append(
                    try await seconds {
                        let response = try await client.post("/v1/auth/register", json: FreshIdentity.registration())
                        #expect(response.status == .accepted)
                        bodies.insert(response.text)
                    })
            }
            #expect(bodies == [#"{"status":"accepted"}"#])
            let (t, f) = (median(taken), median(free))
            #expect(abs(t - f) <= max(0.5 * max(t, f), 0.02), "taken \(t) s, free \(f) s")
            // The squatter's passwords did nothing to the owner's account.
            #expect(try await client.login(["idNumber": Demo.citizen.idNumber], password: Demo.citizen.password).status == .ok)
            #expect(try await client.login(["idNumber": Demo.citizen.idNumber], password: "Squat2026pass0").status == .unauthorized)
        }
    }

    @Test("S15: a login takes as long for an unknown identifier as for a known one, at every bcrypt cost", arguments: [UInt8(4), 10])
    func loginTimingDoesNotRevealAccounts(cost: UInt8) async throws {
        try await withTestApp(.sqlite, configure: { $0.bcryptCost = cost }) { client, _ in
            var known: [Double] = []
            var unknown: [Double] = []
            for who in [Demo.citizen.idNumber, Demo.citizen2.idNumber, "330108199811230170"] {
                for attempt in 0..<4 {
                    known.append(try await seconds { _ = try await client.login(["idNumber": who], password: "Wrong2026pass\(attempt)") })
                    unknown.append(
                        try await seconds { _ = try await client.login(["idNumber": FreshIdentity.residentID()], password: "Wrong2026pass") })
                }
            }
            let (k, u) = (median(known), median(unknown))
            #expect(abs(k - u) <= max(0.5 * max(k, u), 0.02), "cost \(cost): known \(k) s, unknown \(u) s")
        }
    }

    @Test("S27: a password with a NUL or over 72 bytes is refused with weak_password and never logs in", arguments: TestEngine.enabled)
    func passwordsBcryptWouldCutAreRefused(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let admin = try await client.loginStaff(Demo.admin)
            let exactly72 = "Ab1" + String(repeating: "z", count: 69)
            for password in ["Ab1\u{0000}zzzzzzzzzz", exactly72 + "x", "密码" + String(repeating: "码", count: 23) + "a1"] {
                let registered = try await client.post("/v1/auth/register", json: FreshIdentity.registration(password: password))
                #expect(registered.status == .unprocessableContent)
                #expect(try registered.problem().code == "weak_password")
                #expect(try registered.problem().errors?.first?.pointer == "/password")
                let staff = try await client.post(
                    "/v1/admin/accounts", json: ["kind": "admin", "username": "admin.long", "name": "管理员", "password": password],
                    token: admin.accessToken)
                #expect(try staff.problem().code == "weak_password")
            }
            // Exactly 72 bytes is fine; a 73rd byte makes another password, which does not log in.
            let idNumber = FreshIdentity.residentID()
            #expect(
                try await client.post("/v1/auth/register", json: FreshIdentity.registration(idNumber: idNumber, password: exactly72)).status
                    == .accepted)
            #expect(try await client.login(["idNumber": idNumber], password: exactly72).status == .ok)
            #expect(try await client.login(["idNumber": idNumber], password: exactly72 + "x").status == .unauthorized)
            // What follows a NUL is not ignored.
            #expect(
                try await client.login(["idNumber": Demo.citizen2.idNumber], password: Demo.citizen2.password + "\u{0000}junk").status
                    == .unauthorized)
        }
    }
}

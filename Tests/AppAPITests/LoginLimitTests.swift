import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import AppAPI

/// Login throttling under hostile input: parallel guesses, forwarded addresses, IPv6 networks, targeted lockout.
@Suite struct LoginLimitTests {
    @Test("S13: twenty parallel wrong passwords for one identifier: exactly five are evaluated, the rest get 429", arguments: TestEngine.enabled)
    func parallelGuessesAreCountedBeforeTheyAreEvaluated(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for attempt in 0..<20 {
                    group.addTask { try await client.login(["idNumber": Demo.citizen.idNumber], password: "Guess\(attempt)xx2026").status }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .unauthorized }.count == LoginThrottle.perIdentifierAndNetwork.limit)
            #expect(statuses.filter { $0 == .tooManyRequests }.count == 20 - LoginThrottle.perIdentifierAndNetwork.limit)
            // The five failures locked the identifier: even the right password waits, for about 15 minutes.
            let locked = try await client.login(["idNumber": Demo.citizen.idNumber], password: Demo.citizen.password)
            #expect(locked.status == .tooManyRequests)
            #expect(try locked.problem().code == "too_many_attempts")
            #expect((locked.headers[.retryAfter].flatMap(Int.init) ?? 0) > 14 * 60)
        }
    }

    @Test("S14: behind a trusted proxy the address limit counts the forwarded client; other clients still log in", arguments: TestEngine.enabled)
    func forwardedClientsAreCountedApart(engine: TestEngine) async throws {
        try await withTestApp(engine, live: true, configure: { $0.trustedProxies = loopbackProxies }) { client, _ in
            for _ in 0..<LoginThrottle.perNetwork.limit {
                let guess = try await client.post("/v1/auth/login", json: Self.wrongLogin(), from: "198.51.100.7")
                #expect(guess.status == .unauthorized)
            }
            #expect(try await client.post("/v1/auth/login", json: Self.wrongLogin(), from: "198.51.100.7").status == .tooManyRequests)
            // A hop the client wrote itself (left of the proxy's) changes nothing.
            #expect(try await client.post("/v1/auth/login", json: Self.wrongLogin(), from: "203.0.113.1, 198.51.100.7").status == .tooManyRequests)
            let owner = try await client.post("/v1/auth/login", json: Self.ownerLogin(), from: "198.51.100.8")
            #expect(owner.status == .ok, "\(owner.text)")
        }
    }

    @Test("S14: without a trusted proxy X-Forwarded-For is ignored, so a client cannot escape the limit", arguments: TestEngine.enabled)
    func untrustedForwardedForIsIgnored(engine: TestEngine) async throws {
        try await withTestApp(engine, live: true, configure: { _ in }) { client, _ in
            for index in 0..<LoginThrottle.perNetwork.limit {
                let guess = try await client.post("/v1/auth/login", json: Self.wrongLogin(), from: "192.0.2.\(index)")
                #expect(guess.status == .unauthorized)
            }
            let spoofed = try await client.post("/v1/auth/login", json: Self.wrongLogin(), from: "192.0.2.200")
            #expect(spoofed.status == .tooManyRequests)
        }
    }

    @Test("S14: IPv6 clients are counted per /64", arguments: TestEngine.enabled)
    func ipv6ClientsAreCountedPerNetwork(engine: TestEngine) async throws {
        try await withTestApp(engine, live: true, configure: { $0.trustedProxies = loopbackProxies }) { client, _ in
            for index in 0..<LoginThrottle.perNetwork.limit {
                let address = "2001:db8:1:2:\(String(index, radix: 16)):\(String(Int.random(in: 1...0xffff), radix: 16)):0:1"
                let guess = try await client.post("/v1/auth/login", json: Self.wrongLogin(), from: address)
                #expect(guess.status == .unauthorized)
            }
            let sameNetwork = try await client.post("/v1/auth/login", json: Self.wrongLogin(), from: "2001:db8:1:2::beef")
            #expect(sameNetwork.status == .tooManyRequests)
            let otherNetwork = try await client.post("/v1/auth/login", json: Self.ownerLogin(), from: "2001:db8:1:3::1")
            #expect(otherNetwork.status == .ok)
        }
    }

    @Test("S14: the client is the rightmost forwarded hop that is not a trusted proxy")
    func forwardedForIsReadFromTheRight() throws {
        let proxies = try TrustedProxies(parsing: ["10.0.0.0/8, 2001:db8:ffff::/48"])
        func client(_ peer: String, _ header: [String]) -> String? { proxies.clientAddress(peer: IPAddress(peer), forwardedFor: header)?.description }
        #expect(client("10.1.1.1", ["198.51.100.7"]) == "198.51.100.7")
        #expect(client("10.1.1.1", ["6.6.6.6, 198.51.100.7, 10.2.2.2"]) == "198.51.100.7")
        #expect(client("10.1.1.1", ["6.6.6.6", "198.51.100.7:5555"]) == "198.51.100.7")
        #expect(client("10.1.1.1", ["[2001:db8::5]:443"]) == "2001:db8::5")
        #expect(client("10.1.1.1", ["10.3.3.3, 10.2.2.2"]) == "10.3.3.3")
        #expect(client("10.1.1.1", ["junk, 10.2.2.2"]) == "10.2.2.2")
        #expect(client("10.1.1.1", []) == "10.1.1.1")
        // An untrusted peer is the client, whatever it claims.
        #expect(client("198.51.100.9", ["10.9.9.9"]) == "198.51.100.9")
        #expect(client("::ffff:198.51.100.9", ["10.9.9.9"]) == "198.51.100.9")
        #expect(IPAddress("2001:db8:1:2:aaaa:bbbb:cccc:dddd")?.throttlingNetwork == "2001:db8:1:2::/64")
        #expect(IPAddress("198.51.100.9")?.throttlingNetwork == "198.51.100.9")
        #expect(IPAddress("198.51.100.9\n") == nil && IPAddress("1.2.3") == nil && IPAddress(String(repeating: "1", count: 100)) == nil)
        #expect(throws: ConfigurationError.self) { try TrustedProxies(parsing: ["10.0.0.0/33"]) }
        #expect(throws: ConfigurationError.self) { try TrustedProxies(parsing: ["proxy.local"]) }
        #expect(
            try ServerOptions.parse(["--trusted-proxy", "10.0.0.0/8", "--trusted-proxy", "::1"]).resolve(environment: [:]).trustedProxies.networks
                .count == 2)
        #expect(
            try ServerOptions.parse([]).resolve(environment: ["APPAPI_TRUSTED_PROXIES": "10.0.0.0/8,192.168.0.0/16"]).trustedProxies.networks.count
                == 2)
        #expect(try ServerOptions.parse([]).resolve(environment: [:]).trustedProxies == .none)
    }

    @Test(
        "S31: five failures from an attacker's network lock the identifier there only; the owner logs in from another", arguments: TestEngine.enabled)
    func targetedLockoutStaysWithTheAttacker(engine: TestEngine) async throws {
        try await withTestApp(engine, live: true, configure: { $0.trustedProxies = loopbackProxies }) { client, _ in
            let victim = ["idNumber": Demo.citizen2.idNumber]
            for attempt in 0..<LoginThrottle.perIdentifierAndNetwork.limit {
                let guess = try await client.post(
                    "/v1/auth/login", json: Self.loginBody(victim, password: "Guess\(attempt)2026x"), from: "203.0.113.66")
                #expect(guess.status == .unauthorized)
            }
            let attacker = try await client.post(
                "/v1/auth/login", json: Self.loginBody(victim, password: Demo.citizen2.password), from: "203.0.113.66")
            #expect(attacker.status == .tooManyRequests, "the attacker's network is locked even with the right password")
            let owner = try await client.post("/v1/auth/login", json: Self.loginBody(victim, password: Demo.citizen2.password), from: "198.51.100.20")
            #expect(owner.status == .ok, "the owner's own network is not locked: \(owner.text)")
            // The cap over all networks: a guesser spread over ten networks locks the identifier everywhere.
            for network in 1...(LoginThrottle.perIdentifier.limit / LoginThrottle.perIdentifierAndNetwork.limit) {
                for attempt in 0..<LoginThrottle.perIdentifierAndNetwork.limit {
                    _ = try await client.post(
                        "/v1/auth/login", json: Self.loginBody(victim, password: "Spread\(attempt)2026x"), from: "192.0.2.\(network)")
                }
            }
            let capped = try await client.post(
                "/v1/auth/login", json: Self.loginBody(victim, password: Demo.citizen2.password), from: "198.51.100.21")
            #expect(capped.status == .tooManyRequests)
        }
    }

    static func wrongLogin() -> [String: Any] { loginBody(["idNumber": FreshIdentity.residentID()], password: "Wrong2026password") }
    static func ownerLogin() -> [String: Any] { loginBody(["idNumber": Demo.citizen.idNumber], password: Demo.citizen.password) }

    static func loginBody(_ identifier: [String: String], password: String) -> [String: Any] {
        var body: [String: Any] = ["password": password, "device": ["name": "测试手机", "platform": "cli"]]
        for (key, value) in identifier { body[key] = value }
        return body
    }
}

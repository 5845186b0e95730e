import Crypto
import Foundation
import OneTripAPI
import SyncCore

/// The identity routes.
extension APIImplementation {
    func register(_ input: Operations.Register.Input) async throws -> Operations.Register.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Expected a JSON body.") }
        try await identity.register(
            kind: AccountKind(rawValue: body.kind.rawValue)!, idNumber: body.idNumber, creditCode: body.creditCode, name: body.name,
            phone: body.phone, password: body.password, network: RequestScope.current?.clientNetwork
        )
        return .accepted(.init(body: .json(.init(status: .accepted))))
    }

    func login(_ input: Operations.Login.Input) async throws -> Operations.Login.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Expected a JSON body.") }
        let given: [(AccountStore.Identifier, String, Int)] = [
            body.idNumber.map { (.idNumber($0.uppercased()), "/idNumber", IdentityInput.identifierLength) },
            body.creditCode.map { (.creditCode($0.uppercased()), "/creditCode", IdentityInput.identifierLength) },
            body.username.map { (.username($0), "/username", IdentityInput.usernameLengths.upperBound) },
        ].compactMap { $0 }
        guard given.count == 1, let (identifier, pointer, maxLength) = given.first else {
            throw AppError.badRequest(
                "Give exactly one of idNumber, creditCode or username.", code: .invalidIdentifier,
                errors: [.init(pointer: "/idNumber", detail: "exactly one identifier is required")]
            )
        }
        // The contract's bounds, checked before anything counts or hashes.
        if identifier.value.unicodeScalars.count > maxLength {
            throw AppError.badRequest(
                "\(pointer.dropFirst()) is at most \(maxLength) characters.", code: .invalidIdentifier,
                errors: [.init(pointer: pointer, detail: "must be at most \(maxLength) characters")])
        }
        if body.password.unicodeScalars.count > IdentityInput.maxLoginPasswordLength {
            throw AppError.badRequest(
                "password is at most \(IdentityInput.maxLoginPasswordLength) characters.",
                errors: [.init(pointer: "/password", detail: "must be at most \(IdentityInput.maxLoginPasswordLength) characters")])
        }
        guard IdentityInput.isDisplayText(body.device.name, maxLength: IdentityInput.maxDeviceNameLength) else {
            throw AppError(
                .invalidDeviceName, "device.name must be 1 to 64 characters, without control characters.",
                errors: [.init(pointer: "/device/name", detail: "must be 1 to 64 characters, without control characters")])
        }
        let registration = IdentityService.DeviceRegistration(
            name: body.device.name, platform: Platform(rawValue: body.device.platform.rawValue)!,
            publicJWK: try body.device.publicKey.map(Self.validatedDeviceKey)
        )
        let session = try await identity.login(
            identifier, password: body.password, device: registration, network: RequestScope.current?.clientNetwork)
        return .ok(.init(body: .json(.init(session))))
    }

    func refresh(_ input: Operations.Refresh.Input) async throws -> Operations.Refresh.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Expected a JSON body.") }
        guard (1...IdentityInput.maxRefreshTokenLength).contains(body.refreshToken.utf8.count) else {
            throw AppError.badRequest(
                "refreshToken must be 1 to \(IdentityInput.maxRefreshTokenLength) characters.",
                errors: [.init(pointer: "/refreshToken", detail: "must be 1 to \(IdentityInput.maxRefreshTokenLength) characters")])
        }
        let session = try await identity.refresh(body.refreshToken, logger: RequestScope.current?.logger)
        return .ok(.init(body: .json(.init(session))))
    }

    func logout(_ input: Operations.Logout.Input) async throws -> Operations.Logout.Output {
        let me = try await authenticate()
        try await identity.revokeDevice(me.deviceID, of: me)
        return .noContent(.init())
    }

    func getMe(_ input: Operations.GetMe.Input) async throws -> Operations.GetMe.Output {
        let me = try await authenticate()
        guard let account = try await identity.accounts.account(id: me.accountID) else {
            throw AppError.unauthenticated("The account no longer exists.")
        }
        return .ok(.init(body: .json(.init(account))))
    }

    func listMyDevices(_ input: Operations.ListMyDevices.Input) async throws -> Operations.ListMyDevices.Output {
        let me = try await authenticate()
        let devices = try await identity.accounts.devices(of: me.accountID).map { device in
            Components.Schemas.Device(
                id: device.id, name: device.name, platform: .init(rawValue: device.platform.rawValue)!,
                publicKey: device.publicJWK.flatMap { try? JSONDecoder().decode(Components.Schemas.PublicJWK.self, from: Data($0.utf8)) },
                createdAt: Date(millis: device.createdAt), lastSeenAt: device.lastSeenAt.map(Date.init(millis:)), current: device.id == me.deviceID,
                revoked: device.revokedAt != nil
            )
        }
        return .ok(.init(body: .json(.init(items: devices))))
    }

    func revokeMyDevice(_ input: Operations.RevokeMyDevice.Input) async throws -> Operations.RevokeMyDevice.Output {
        let me = try await authenticate()
        guard input.path.id.utf8.count <= 64 else { throw AppError.invalidParameter("id", "must be at most 64 characters") }
        guard PathID.isPlausible(input.path.id) else { throw AppError.notFound("You have no device with that id.") }
        try await identity.revokeDevice(input.path.id, of: me)
        return .noContent(.init())
    }

    func createStaffAccount(_ input: Operations.CreateStaffAccount.Input) async throws -> Operations.CreateStaffAccount.Output {
        _ = try await authenticate([.admin])
        guard case .json(let body) = input.body else { throw AppError.badRequest("Expected a JSON body.") }
        let account = try await identity.createStaff(
            kind: AccountKind(rawValue: body.kind.rawValue)!, username: body.username, name: body.name, phone: body.phone,
            password: body.password, departmentID: body.departmentId, centerID: body.centerId
        )
        return .created(.init(body: .json(.init(account))))
    }

    func getAccessTokenKeys(_ input: Operations.GetAccessTokenKeys.Input) async throws -> Operations.GetAccessTokenKeys.Output {
        let keys = try await tokens.keys.keySet().jwks.map {
            Components.Schemas.PublicJWK(kty: .ec, crv: .p256, x: $0.x, y: $0.y, kid: $0.kid, use: $0.use, alg: $0.alg)
        }
        return .ok(.init(body: .json(.init(keys: keys))))
    }

    /// A holder key must be a real P-256 point; stored as canonical JSON.
    private static func validatedDeviceKey(_ jwk: Components.Schemas.PublicJWK) throws -> String {
        guard let x = decodeBase64URL(jwk.x), let y = decodeBase64URL(jwk.y), x.count == 32, y.count == 32,
            (try? P256.Signing.PublicKey(x963Representation: Data([0x04]) + x + y)) != nil
        else {
            throw AppError(
                .invalidPublicKey, "device.publicKey is not a P-256 public key.",
                errors: [.init(pointer: "/device/publicKey", detail: "must be a P-256 public key")])
        }
        return try ChangeLog.encode(["kty": "EC", "crv": "P-256", "x": jwk.x, "y": jwk.y])
    }
}

extension Components.Schemas.TokenResponse {
    init(_ session: IdentityService.Session) {
        self.init(
            accessToken: session.accessToken, refreshToken: session.refreshToken, expiresIn: session.expiresIn, tokenType: .bearer,
            deviceId: session.device.id, account: .init(session.account)
        )
    }
}

extension Date {
    init(millis: Int) { self.init(timeIntervalSince1970: Double(millis) / 1000) }
}

import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import OneTripAPI
import SyncCore
import Testing

@testable import AppAPI

typealias PullResponse = Components.Schemas.PullResponse
typealias PushResponse = Components.Schemas.PushResponse

extension TestClientProtocol {
    func pull(_ token: String, clientID: String, cursors: [String: Int]? = nil, epochs: [String: String]? = nil, limit: Int? = nil) async throws
        -> TestResponse
    {
        var body: [String: Any] = ["clientId": clientID]
        if let cursors { body["cursors"] = cursors }
        if let epochs { body["epochs"] = epochs }
        if let limit { body["limit"] = limit }
        return try await post("/v1/sync/pull", json: body, token: token)
    }

    /// Pulls until caught up; returns every change and the final cursors.
    func pullAll(_ token: String, clientID: String, cursors: [String: Int]? = nil, limit: Int = 500) async throws
        -> (changes: [Components.Schemas.SyncChange], cursors: [String: Int], last: PullResponse)
    {
        var all: [Components.Schemas.SyncChange] = []
        var current = cursors
        while true {
            let response = try await pull(token, clientID: clientID, cursors: current, limit: limit)
            #expect(response.status == .ok, "pull failed: \(response.text)")
            let page = try response.json(PullResponse.self)
            all += page.changes
            current = page.cursors.additionalProperties
            if !page.hasMore { return (all, current ?? [:], page) }
        }
    }

    func push(_ token: String, clientID: String, mutations: [[String: Any]]) async throws -> TestResponse {
        try await post("/v1/sync/push", json: ["clientId": clientID, "mutations": mutations], token: token)
    }
}

/// A mutation body for a push.
func mutation(_ id: Int, _ name: String, _ args: [String: Any], hlc: HLC? = nil) -> [String: Any] {
    ["id": id, "name": name, "args": args, "hlc": (hlc ?? HLC(physical: Int64(Date().timeIntervalSince1970 * 1000), node: "test")).description]
}

extension Components.Schemas.SyncChange {
    /// The entity payload decoded as `T`.
    func entity<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: try JSONEncoder().encode(try #require(data)))
    }
}

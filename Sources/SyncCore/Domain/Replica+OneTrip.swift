/// The app's offline queries over OneTrip's entities (the engine offers the generic ones).
extension Replica {
    /// Matters whose search text contains every term of `query` (`searchTerms`), ordered by code; all when empty.
    public func searchMatters(_ query: String?, limit: Int = 50) throws -> [Matter] {
        try search(.matter, terms: searchTerms(query), limit: limit).map { try Self.decode(Matter.self, $0) }
    }

    /// FAQ entries matching every term of `query`, best answers first (`FAQEntry.relevance`), then by id.
    public func faq(_ query: String?, limit: Int = 20) throws -> [FAQEntry] {
        let terms = searchTerms(query)
        let entries = try search(.faq, terms: terms).map { try Self.decode(FAQEntry.self, $0) }
        let ranked = entries.map { (entry: $0, score: $0.relevance(to: terms)) }
            .sorted { $0.score != $1.score ? $0.score > $1.score : $0.entry.id < $1.entry.id }
        return ranked.prefix(limit).map(\.entry)
    }

    /// The account's messages, newest first.
    public func messages() throws -> [Message] {
        try entitiesJSON(.message, orderedByJSONField: "createdAt", descending: true).map { try Self.decode(Message.self, $0) }
    }

    /// The profile of `accountID`, with this device's pending edits.
    public func profile(accountID: String) throws -> Profile? {
        try entity(Profile.self, id: accountID)
    }
}

/// Splits a keyword query into lower-cased terms that must all match (server SQL and the offline replica
/// use the same rule, so a phone finds offline what it would find online).
public func searchTerms(_ query: String?) -> [String] {
    guard let query else { return [] }
    return query.lowercased().split(whereSeparator: { $0.isWhitespace || $0 == "," || $0 == "，" }).map(String.init)
}

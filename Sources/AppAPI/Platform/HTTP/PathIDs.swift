/// Ids that arrive in paths and bodies, before they reach a query.
enum PathID {
    /// An id worth looking up: 1–128 visible ASCII characters. Anything else cannot exist, so the route answers 404 at
    /// once (and PostgreSQL never sees a NUL).
    static func isPlausible(_ id: String) -> Bool {
        (1...128).contains(id.utf8.count) && id.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }
}

/// Text a person typed (a name, a search): no control characters — in particular no NUL, which PostgreSQL refuses.
func isPlainText(_ text: String) -> Bool {
    !text.unicodeScalars.contains { $0.properties.generalCategory == .control }
}

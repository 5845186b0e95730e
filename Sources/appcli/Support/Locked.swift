import Synchronization

/// A value shared between tasks and callbacks behind a mutex (a `Mutex` itself cannot be captured by escaping closures).
final class Locked<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>

    init(_ value: Value) { storage = Mutex(value) }

    /// The current value.
    var value: Value { storage.withLock { $0 } }

    /// Changes the value under the lock and returns what `body` returns.
    @discardableResult
    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        try storage.withLock { try body(&$0) }
    }
}

import Foundation
import Synchronization

/// Wall-clock time and new ids, injected (isowords style) so expiry, deadline and retry logic is tested without
/// sleeping, and ids are predictable in tests.
struct Runtime: Sendable {
    /// Milliseconds since 1970.
    var now: @Sendable () -> Int
    /// A new random id of 20 lower-case hex digits (80 bits).
    var newID: @Sendable () -> String

    /// The system clock and random ids.
    static let live = Runtime(
        now: { Clock.nowMillis() },
        newID: { UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(20).description }
    )

    /// `now` as `Int64`, as SyncCore takes it.
    var nowMillis: Int64 { Int64(now()) }

    /// A runtime whose clock is set by hand (`ManualClock`) and whose ids still are random.
    static func manual(_ clock: ManualClock) -> Runtime {
        Runtime(now: { clock.now }, newID: live.newID)
    }
}

/// A clock tests move by hand.
final class ManualClock: Sendable {
    private let millis: Mutex<Int>

    init(_ millis: Int = Clock.nowMillis()) { self.millis = Mutex(millis) }

    var now: Int { millis.withLock { $0 } }

    func set(_ value: Int) { millis.withLock { $0 = value } }

    func advance(by duration: Duration) {
        let (seconds, attoseconds) = duration.components
        millis.withLock { $0 += Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000) }
    }
}

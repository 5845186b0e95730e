import Foundation

/// The swarm's progress on stderr: a bar redrawn in place on a terminal, a line every five seconds otherwise.
struct SwarmProgressBar: Sendable {
    let stats: SwarmStats
    let start: ContinuousClock.Instant
    let deadline: ContinuousClock.Instant
    let phones: Int

    func run() async {
        let interactive = isatty(STDERR_FILENO) != 0
        let total = seconds(deadline - start)
        var lastLine = ContinuousClock.now
        while ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(interactive ? 250 : 1000))
            let elapsed = min(seconds(ContinuousClock.now - start), total)
            let (ok, failed) = stats.completed
            stats.count {
                $0.offlineShareSum += Double($0.offlineNow) / Double(max(phones, 1))
                $0.offlineShareSamples += 1
            }
            let counters = stats.counters
            let width = 30
            let filled = total > 0 ? Int(Double(width) * elapsed / total) : width
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            let line = String(
                format: "[%@] %3.0f/%.0f s  %llu ops (%.0f/s)  %d failed  %d mutations  %d/%d offline  %d clerk actions",
                bar, elapsed, total, ok, elapsed > 0 ? Double(ok) / elapsed : 0, failed, counters.mutationsApplied, counters.offlineNow, phones,
                counters.clerkActions)
            if interactive {
                FileHandle.standardError.write(Data(("\r" + line + "\u{1B}[K").utf8))
            } else if ContinuousClock.now - lastLine >= .seconds(5) {
                FileHandle.standardError.write(Data((line + "\n").utf8))
                lastLine = ContinuousClock.now
            }
        }
        if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A plain TCP connection to a live server, for what an HTTP client library would not do: send headers and stop,
/// trickle a body, stay silent.
final class RawSocket {
    private let descriptor: Int32

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw RawSocketError.failed("socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(descriptor)
            throw RawSocketError.failed("connect")
        }
    }

    deinit { close(descriptor) }

    /// Sends `text`; false when the server has closed the connection.
    @discardableResult
    func send(_ text: String) -> Bool { send(Data(text.utf8)) }

    @discardableResult
    func send(_ data: Data) -> Bool {
        data.withUnsafeBytes { buffer in Glibc.send(descriptor, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL)) == buffer.count }
    }

    /// Everything received until the server closes the connection or `timeout` passes; `closed` tells which.
    func receive(for timeout: Duration) -> (text: String, closed: Bool) {
        let deadline = ContinuousClock.now + timeout
        var received = Data()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while ContinuousClock.now < deadline {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) > 0 else { continue }
            let count = recv(descriptor, &chunk, chunk.count, 0)
            if count <= 0 { return (String(decoding: received, as: UTF8.self), true) }
            received.append(contentsOf: chunk[0..<count])
        }
        return (String(decoding: received, as: UTF8.self), false)
    }
}

enum RawSocketError: Error {
    case failed(String)
}

extension RawSocket {
    /// One whole HTTP/1.1 exchange on a fresh connection (`Connection: close`), blocking: the status code and seconds.
    static func exchange(port: Int, method: String, path: String, headers: [String: String] = [:], body: String? = nil) -> (
        status: Int, seconds: Double
    ) {
        let started = ContinuousClock.now
        guard let socket = try? RawSocket(port: port) else { return (0, 0) }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if let body { head += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n" }
        socket.send(head + "\r\n" + (body ?? ""))
        let (text, _) = socket.receive(for: .seconds(60))
        let (whole, atto) = (ContinuousClock.now - started).components
        let status = text.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) } ?? 0
        return (status, Double(whole) + Double(atto) / 1e18)
    }
}

/// Runs `count` blocking jobs on threads of their own (not the test process's cooperative pool), and waits for all.
func onThreads<T: Sendable>(_ count: Int, _ job: @escaping @Sendable (Int) -> T) async -> [T] {
    await withCheckedContinuation { continuation in
        let results = Mutex<[T]>([])
        let group = DispatchGroup()
        for index in 0..<count {
            group.enter()
            Thread.detachNewThread {
                let result = job(index)
                results.withLock { $0.append(result) }
                group.leave()
            }
        }
        group.notify(queue: .global()) { continuation.resume(returning: results.withLock { $0 }) }
    }
}

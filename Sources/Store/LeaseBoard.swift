import Atomics
#if canImport(Glibc)
import Glibc
#endif

/// The engine's lease in shared memory: one page on the tmpfs beside the metrics database,
/// written by the engine (the store's one writer) and mapped read-only by the web app's threads.
///
/// Every web request asks "is this blade the active manager right now?" (the redirect rule and
/// `/health/active`). Asked of SQLite, that was a read transaction per request, and the WAL's
/// shared-memory lock, taken by sixteen threads on two cores, halved the API's throughput.
/// Here it is one atomic load.
///
/// Layout, native 64-bit words: 0 magic, 1 row version (advanced after every committed
/// `engine_state` row, so readers know when to read the row again), 2 lease deadline on the
/// host's monotonic clock in nanoseconds (0: this blade holds no lease), 3 the writer's pid.
///
/// Safety rests on the order of the writer's stores: a lease that shrinks or ends is stored here
/// before the row is written and before the engine sends anything (the `Coordinator` publishes a
/// shrinking lease before its `Ready` goes out); a lease that grows is stored after. A reader
/// that sees an old page (engine killed, file replaced) sees an old deadline, which only expires.
public final class LeaseBoard: @unchecked Sendable {
    public let path: String
    /// Identity of the mapped file, so a reader can tell when the file was replaced.
    public let device: UInt64
    public let inode: UInt64
    private let base: UnsafeMutableRawPointer
    private let writable: Bool

    static let magic: UInt64 = 0x3153_4145_4C4D_4843 // "CHMLEAS1", little-endian
    static let pageBytes = 4096
    private enum Word: Int { case magic = 0, rowVersion = 1, leaseDeadline = 2, pid = 3 }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The board's file for a metrics database.
    public static func path(metricsDatabase: String) -> String { metricsDatabase + "-lease" }

    private init(path: String, base: UnsafeMutableRawPointer, writable: Bool, device: UInt64, inode: UInt64) {
        self.path = path
        self.base = base
        self.writable = writable
        self.device = device
        self.inode = inode
    }

    deinit {
        munmap(base, Self.pageBytes)
    }

    private func word(_ word: Word) -> UnsafeAtomic<UInt64> {
        UnsafeAtomic(at: base.advanced(by: word.rawValue * 8).assumingMemoryBound(to: UInt64.AtomicRepresentation.self))
    }

    /// The engine's board: created if missing, its lease cleared. A board left by an earlier
    /// engine keeps its row version (counting on from it), so readers never mistake a new row
    /// for the one they cached.
    public static func openForWriting(path: String) throws -> LeaseBoard {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw Failure(description: "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            throw Failure(description: "\(path) is not a regular file")
        }
        let fresh = status.st_size != off_t(pageBytes)
        if fresh, ftruncate(descriptor, off_t(pageBytes)) != 0 {
            throw Failure(description: "cannot size \(path): \(String(cString: strerror(errno)))")
        }
        guard let base = mmap(nil, pageBytes, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0), base != MAP_FAILED else {
            throw Failure(description: "cannot map \(path): \(String(cString: strerror(errno)))")
        }
        let board = LeaseBoard(path: path, base: base, writable: true, device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
        board.word(.leaseDeadline).store(0, ordering: .sequentiallyConsistent)
        if board.word(.magic).load(ordering: .relaxed) != magic {
            board.word(.rowVersion).store(0, ordering: .relaxed)
        }
        board.word(.pid).store(UInt64(getpid()), ordering: .relaxed)
        board.word(.magic).store(magic, ordering: .releasing)
        board.advanceRowVersion()
        return board
    }

    /// A reader's mapping, or nil when there is no valid board (no engine has run here yet).
    public static func openForReading(path: String) -> LeaseBoard? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG, status.st_size == off_t(pageBytes),
              let base = mmap(nil, pageBytes, PROT_READ, MAP_SHARED, descriptor, 0), base != MAP_FAILED else { return nil }
        let board = LeaseBoard(path: path, base: base, writable: false, device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
        return board.word(.magic).load(ordering: .acquiring) == magic ? board : nil
    }

    /// Whether the file at `path` is still the one mapped here.
    public func isCurrentFile() -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && UInt64(status.st_dev) == device && UInt64(status.st_ino) == inode
    }

    /// The lease deadline (monotonic nanoseconds), 0 when the blade holds no lease.
    public var leaseDeadlineNanoseconds: UInt64 { word(.leaseDeadline).load(ordering: .acquiring) }

    /// Advanced after every committed engine row.
    public var rowVersion: UInt64 { word(.rowVersion).load(ordering: .acquiring) }

    public func storeLease(deadlineNanoseconds: UInt64) {
        precondition(writable, "a reader's board is read-only")
        word(.leaseDeadline).store(deadlineNanoseconds, ordering: .sequentiallyConsistent)
    }

    public func advanceRowVersion() {
        precondition(writable, "a reader's board is read-only")
        word(.rowVersion).wrappingIncrement(ordering: .releasing)
    }
}

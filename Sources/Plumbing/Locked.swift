import Dispatch

/// A value behind a lock (a serial queue): shared by an event loop and the queues beside it
/// (the role hooks' running command).
public final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = DispatchQueue(label: "chassis.locked")

    public init(_ value: Value) { self.value = value }

    @discardableResult
    public func withLock<T>(_ body: (inout Value) -> T) -> T {
        lock.sync { body(&value) }
    }
}

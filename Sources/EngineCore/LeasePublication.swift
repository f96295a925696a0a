import Consensus

/// How the lease the consensus core holds becomes the lease the web app trusts: the engine's
/// publish path, as a value, so that the simulator runs the same code the engine does and its
/// checker sees what web apps see.
///
/// The core states its lease in ticks (`Ready.leaseDeadlineTick`). The engine turns it into a
/// deadline on the host's monotonic clock and publishes it, with the role, for its web app (the
/// lease board and `engine_state`), which answers as the active manager only while the published
/// role is active and the clock is before the published deadline. Publishing late is safe when
/// the lease grows (the web app stops answering early, never late), so the engine publishes
/// periodically (`publishIntervalNanoseconds`). It is not safe when the lease shrinks or ends
/// (a hand-over, a step-down): another blade may be elected within a round trip, so the shrink is
/// published before any message of the same `Ready` is sent (`Order.shrinkBeforeSending`), not
/// after the `Ready`'s committed entries are applied (SQLite transactions, milliseconds) with the
/// rest. `Order.afterApplying` is that reversed order, kept so that the simulator can show it
/// loses safety.
public struct LeasePublication: Sendable {
    public enum Order: String, Sendable, CaseIterable {
        /// Production: a shrinking lease is published before the `Ready`'s messages are sent; a
        /// gained lease or a change of role right after they are applied.
        case shrinkBeforeSending
        /// Every publication after the messages are sent and the entries applied, a shrink
        /// included. Unsafe: for the simulator's test of the order.
        case afterApplying
    }

    /// What to publish around one `Ready`.
    public struct Plan: Equatable, Sendable {
        public var beforeSending: Bool
        public var afterApplying: Bool

        public init(beforeSending: Bool, afterApplying: Bool) {
            self.beforeSending = beforeSending
            self.afterApplying = afterApplying
        }
    }

    /// The engine publishes at least this often (on the coordinator's wakes).
    public static let publishIntervalNanoseconds: UInt64 = 90_000_000

    public let order: Order
    /// The monotonic time of the core's tick 0, and the length of a tick.
    public let startNanoseconds: UInt64
    public let tickNanoseconds: UInt64
    /// The core's lease on the host's monotonic clock; 0 when it holds none.
    public private(set) var deadlineNanoseconds: UInt64 = 0
    /// What was published last: the deadline the web app trusts (0: not active), and when.
    public private(set) var publishedDeadlineNanoseconds: UInt64 = 0
    public private(set) var publishedAtNanoseconds: UInt64 = 0

    public init(startNanoseconds: UInt64, tickNanoseconds: UInt64, order: Order = .shrinkBeforeSending) {
        self.startNanoseconds = startNanoseconds
        self.tickNanoseconds = tickNanoseconds
        self.order = order
    }

    /// The deadline of a lease that ends at core tick `tick`.
    public func nanoseconds(atTick tick: Int) -> UInt64 {
        startNanoseconds + UInt64(max(0, tick)) * tickNanoseconds
    }

    /// Takes the lease of a `Ready`, before anything of it is sent: when to publish.
    public mutating func take(_ ready: Ready) -> Plan {
        let deadline = ready.leaseDeadlineTick.map(nanoseconds(atTick:)) ?? 0
        let reduced = deadline < deadlineNanoseconds
        let gained = deadline > 0 && deadlineNanoseconds == 0
        deadlineNanoseconds = deadline
        let changed = gained || !ready.roleChanges.isEmpty
        switch order {
        case .shrinkBeforeSending:
            return Plan(beforeSending: reduced, afterApplying: changed)
        case .afterApplying:
            return Plan(beforeSending: false, afterApplying: changed || reduced)
        }
    }

    /// Whether this blade may answer as the active manager at `now`: the core says it is active
    /// and its lease, on the host's clock, has not ended.
    public func holds(coreActive: Bool, now: UInt64) -> Bool {
        coreActive && now < deadlineNanoseconds
    }

    /// Records a publication at `now` of `active` (the role the engine publishes): the deadline
    /// it publishes, 0 when not active.
    @discardableResult
    public mutating func published(active: Bool, now: UInt64) -> UInt64 {
        publishedDeadlineNanoseconds = active ? deadlineNanoseconds : 0
        publishedAtNanoseconds = now
        return publishedDeadlineNanoseconds
    }

    /// A restarted engine's first view of what its web app still trusts (the simulator's model of
    /// a web app that outlived its engine).
    public mutating func inherit(publishedDeadlineNanoseconds: UInt64) {
        self.publishedDeadlineNanoseconds = publishedDeadlineNanoseconds
    }

    /// Whether the periodic publication is due at `now`.
    public func periodicDue(now: UInt64) -> Bool {
        now &- publishedAtNanoseconds >= Self.publishIntervalNanoseconds || now < publishedAtNanoseconds
    }

    /// What the web app concludes at `now` from the last publication.
    public func webAppAnswersAsActive(now: UInt64) -> Bool {
        publishedDeadlineNanoseconds > 0 && now < publishedDeadlineNanoseconds
    }
}

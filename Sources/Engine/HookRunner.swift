import Config
import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Logging
import Model
import Plumbing
import Metrics
import Store

/// Runs the operator's commands on changes of role, as keepalived's notify scripts, with the
/// details in their environment: `CHASSIS_ROLE`, `CHASSIS_TERM`, `CHASSIS_BLADE`,
/// `CHASSIS_ADDRESS`, `CHASSIS_OLD_ACTIVE`, `CHASSIS_NEW_ACTIVE`, `CHASSIS_REASON`.
///
/// Hooks run again on every new term and whenever the view changes back (a partition that heals),
/// so a hook that claims a virtual address gets to announce it again. Each run is bounded in time
/// and its output goes to the engine's log.
final class HookRunner {
    let config: BladeConfig
    let logger: Logger
    private var last: (role: ManagerRole, term: UInt64, active: String?, quorum: Bool)?
    private let queue = DispatchQueue(label: "chassis.hooks")
    /// The hook running now: its shell's PID (its process group) and its event.
    private let running = Locked<(pid: pid_t, event: String)?>(nil)

    private let clock: HostClock

    init(config: BladeConfig, logger: Logger, clock: HostClock) {
        self.clock = clock
        self.config = config
        self.logger = logger
    }

    func observe(_ state: StoreWriter.EngineState) {
        let quorum = state.cluster?.quorum ?? false
        let now = (role: state.role, term: state.term, active: state.activeAddress, quorum: quorum)
        defer { last = now }
        guard let last else {
            run(for: now, oldActive: nil, reason: state.cluster?.reason)
            return
        }
        guard last.role != now.role || last.term != now.term || last.active != now.active || last.quorum != now.quorum else {
            return
        }
        run(for: now, oldActive: last.active, reason: state.cluster?.reason)
    }

    private func run(for state: (role: ManagerRole, term: UInt64, active: String?, quorum: Bool), oldActive: String?, reason: String?) {
        let command: String?
        let event: String
        switch state.role {
        case .active:
            command = config.hooks.onActive
            event = "active"
        case .standby where state.quorum:
            command = config.hooks.onStandby
            event = "standby"
        default:
            guard !state.quorum else { return }
            command = config.hooks.onNoQuorum
            event = "no-quorum"
        }
        guard let command else { return }
        let environment = [
            "CHASSIS_EVENT": event, "CHASSIS_ROLE": state.role.rawValue, "CHASSIS_TERM": String(state.term),
            "CHASSIS_BLADE": config.blade.name, "CHASSIS_ADDRESS": config.blade.address,
            "CHASSIS_OLD_ACTIVE": oldActive ?? "", "CHASSIS_NEW_ACTIVE": state.active ?? "", "CHASSIS_REASON": reason ?? "",
        ]
        let timeout = config.hooks.timeoutSeconds
        let logger = self.logger
        // A newer change of role does not wait behind a hook still running for an older one
        // (an on_active still announcing an address when the blade must already drop it): that
        // hook's process group is ended, and the new one runs next, in order.
        running.withLock { current in
            if let (pid, previous) = current {
                kill(-pid, SIGTERM)
                logger.notice("hook superseded", metadata: ["event": "\(previous)", "by": "\(event)"])
            }
        }
        queue.async { [running] in
            let started = self.clock.monotonicNanoseconds()
            var spawned: pid_t = 0
            // A child the hook leaves in the background (arping) may keep the output pipe open:
            // the hook is done when its shell is, give or take 50 ms of output.
            let result = ShellCommand.run(command, environment: environment, timeoutSeconds: timeout, drainAfterExitMs: 50,
                                          started: { pid in
                                              spawned = pid
                                              running.withLock { $0 = (pid, event) }
                                          })
            running.withLock { current in
                if current?.pid == spawned { current = nil }
            }
            let (status, output) = result.failure.map { (Int32(127), $0) } ?? (result.status, result.text)
            let ending = result.timedOut ? "killed after \(timeout) s" : "ended by a signal (superseded)"
            logger.notice("hook ran", metadata: [
                "event": "\(event)", "term": "\(state.term)", "status": "\(status.map(String.init) ?? ending)",
                "seconds": "\(Double((self.clock.monotonicNanoseconds() - started) / 10_000_000) / 100)",
                "output": "\(output.prefix(2_000))",
            ])
        }
    }

    /// Runs `/bin/sh -c command`; returns its exit status (nil when killed at the timeout) and output.
    static func execute(_ command: String, environment: [String: String], timeoutSeconds: Double) -> (Int32?, String) {
        let result = ShellCommand.run(command, environment: environment, timeoutSeconds: timeoutSeconds)
        if let failure = result.failure { return (127, failure) }
        return (result.status, result.text)
    }

    /// The output of a short command, or nil when it failed or ran out of time.
    static func capture(_ command: String, timeoutSeconds: Double) -> String? {
        let (status, output) = execute(command, environment: [:], timeoutSeconds: timeoutSeconds)
        return status == 0 ? output : nil
    }
}

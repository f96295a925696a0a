import Config
import Model
import Store

/// Where the blade's role comes from. With one blade the blade is its own active manager; the
/// election plugs in here (a role source driven by the `Consensus` core) without changing the rest.
protocol RoleSource: AnyObject {
    func current(blade: BladeConfig) -> StoreWriter.EngineState
}

/// A chassis of one: always active, with a short lease renewed on every publish so that a paused
/// or killed engine stops its web app from answering as the active manager within the lease.
final class StandaloneRole: RoleSource {
    /// How long a publish keeps the blade active; the engine publishes several times within it.
    let leaseDurationNanoseconds: UInt64

    init(leaseDurationMs: Int) {
        leaseDurationNanoseconds = UInt64(leaseDurationMs) * 1_000_000
    }

    func current(blade config: BladeConfig) -> StoreWriter.EngineState {
        let url = "http://\(config.blade.address):\(config.web.port)"
        let now = StoreReader.wallClock()
        let me = ClusterMember(name: config.blade.name, address: config.blade.address, url: url,
                               slotID: config.blade.slot, role: "active", lastHeardAt: now)
        return StoreWriter.EngineState(
            blade: config.blade.name, address: config.blade.address, slotID: config.blade.slot, role: "active", term: 1,
            activeAddress: config.blade.address, activeURL: url,
            leaseDeadlineNanoseconds: StoreReader.monotonicNanoseconds() + leaseDurationNanoseconds,
            cluster: ClusterView(term: 1, active: me, quorum: true, reason: nil, members: [me]))
    }
}

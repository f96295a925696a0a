import Control
import Model

/// Sends a write to the engine on behalf of an actor. `ControlClient` is the real one; tests
/// record requests instead.
public protocol ControlSending: Sendable {
    func send(_ request: ControlRequest, actor: Actor?) throws -> ControlResponse
}

extension ControlClient: ControlSending {}

import Control

/// Sends a write to the engine. `ControlClient` is the real one; tests record requests instead.
public protocol ControlSending: Sendable {
    func send(_ request: ControlRequest) throws -> ControlResponse
}

extension ControlClient: ControlSending {}

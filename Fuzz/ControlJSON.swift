// libFuzzer entry for the control protocol's JSON (Sources/Control/ControlMessage.swift,
// ClusterCommand.swift, ControlValidation.swift).
//
// The input is read as the engine's control socket reads a line (`ControlServer`): the bytes up
// to the first newline, as a `ControlEnvelope` or else a bare `ControlRequest`, then checked by
// `ControlValidation.problem(in:)`. The whole input is also read as a `ClusterCommand` (the data
// of a committed log entry, as the coordinator applies it) and as a `ControlResponse` (what the
// client reads back). Each value that decodes must survive JSONEncoder -> JSONDecoder unchanged.
import Control
import Model
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzControlJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = inputBytes(data, size)
    let decoder = JSONDecoder()

    let line = Data(bytes.prefix { $0 != 0x0A })
    if line.count <= ControlLimits.lineBytesMax {
        let envelope = (try? decoder.decode(ControlEnvelope.self, from: line))
            ?? (try? decoder.decode(ControlRequest.self, from: line)).map { ControlEnvelope(request: $0, actor: nil) }
        if let envelope {
            note("envelope: \(envelope)")
            roundTrip(envelope)
            let problem = ControlValidation.problem(in: envelope.request)
            note("validation: \(problem ?? "ok")")
            _ = envelope.request.auditAction
            _ = envelope.request.changesAccess
        }
    }
    if let command = try? decoder.decode(ClusterCommand.self, from: Data(bytes)) {
        note("cluster command: \(command)")
        roundTrip(command)
    }
    if let response = try? decoder.decode(ControlResponse.self, from: Data(bytes)) {
        note("response: \(response)")
        roundTrip(response)
    }
    return 0
}

private func roundTrip<T: Codable & Equatable>(_ value: T) {
    let encoded: Data
    do {
        encoded = try JSONEncoder().encode(value)
    } catch {
        invariantFailed("JSONEncoder refuses a decoded \(T.self) (\(error)): \(value)")
    }
    let again: T
    do {
        again = try JSONDecoder().decode(T.self, from: encoded)
    } catch {
        invariantFailed("JSONDecoder refuses the encoding of a \(T.self) (\(error)): \(String(decoding: encoded, as: UTF8.self))")
    }
    check(again == value, "\(T.self): decode(encode(x)) != x\n  x:     \(value)\n  again: \(again)")
}

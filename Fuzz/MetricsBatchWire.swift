// libFuzzer entry for a metrics batch from another blade (Sources/Model/MetricsBatch+Wire.swift):
// `MetricsBatch.decode(wire:)` reads the binary form (tag 0xB1) and the JSON form of a blade of
// the previous version (first byte `{`), as the coordinator does with a transport payload.
//
// For each batch that decodes: its binary encoding decodes again to the same batch, and the
// encoding's length is a fixed point. A JSON batch is held to that only when it fits the binary form's
// limits (the JSON form has none of its own: see `fitsBinaryLimits`).
import Model
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMetricsBatchWire(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = inputBytes(data, size)
    let batch: MetricsBatch
    do {
        batch = try MetricsBatch.decode(wire: bytes)
    } catch {
        note("refused: \(error)")
        return 0
    }
    note("batch: \(batch)")
    let isJSON = bytes.first == UInt8(ascii: "{")
    if isJSON, let reason = outsideBinaryLimits(batch) {
        note("a JSON batch the binary form cannot carry: \(reason)")
        return 0
    }
    let encoded = batch.wireEncoded()
    let again: MetricsBatch
    do {
        again = try MetricsBatch.decode(wire: encoded)
    } catch {
        invariantFailed("the decoder refuses the encoder's output (\(error)): \(hex(encoded))")
    }
    check(same(again, batch), "decode(encode(x)) != x\n  x:     \(batch)\n  again: \(again)")
    // Not byte for byte: JSONEncoder orders a descriptor's keys differently from one call to the
    // next (swift-foundation without .sortedKeys), so only the length is a fixed point.
    check(again.wireEncoded().count == encoded.count, "the binary encoding's length is not a fixed point")
    return 0
}

/// Equal, with `sampledAt` compared bit for bit (the binary form carries any double there,
/// NaN included; a NaN is never == itself).
private func same(_ a: MetricsBatch, _ b: MetricsBatch) -> Bool {
    guard a.sampledAt.bitPattern == b.sampledAt.bitPattern else { return false }
    var a = a, b = b
    a.sampledAt = 0
    b.sampledAt = 0
    return a == b
}

/// Why a batch read from JSON has no binary form that decodes, or nil when it has one.
private func outsideBinaryLimits(_ batch: MetricsBatch) -> String? {
    typealias Limits = MetricsBatch.WireLimits
    if !(0...Int(Int32.max)).contains(batch.slotID) { return "slot \(batch.slotID)" }
    if batch.values.count > Limits.valuesMax { return "\(batch.values.count) values" }
    if batch.blade.utf8.count > Limits.stringBytesMax { return "a blade name of \(batch.blade.utf8.count) bytes" }
    let encoder = JSONEncoder()
    for value in batch.values {
        for text in [value.key, value.text ?? "", value.fault ?? ""] where text.utf8.count > Limits.stringBytesMax {
            return "a string of \(text.utf8.count) bytes"
        }
        if let descriptor = value.descriptor {
            guard let json = try? encoder.encode(descriptor) else { return "a descriptor JSONEncoder refuses" }
            if json.count > Limits.descriptorBytesMax { return "a descriptor of \(json.count) bytes" }
        }
    }
    return nil
}

// libFuzzer entry for the frames between blades (Sources/Transport/PeerFrame.swift), past the
// MAC check: a random frame never carries a valid HMAC, so the entry signs what the input holds.
//
// - The input as it arrives: `PeerCodec.frameLength` (the header checks) and `decode`, which
//   must refuse it unless it carries the frame's HMAC (only a seed does).
// - The input signed: when its header gives a frame length, the bytes before the MAC are kept,
//   the MAC is computed with the cluster key and put in its place, and whatever input follows is
//   left after the frame (the next frame on the stream). `decode` must then accept it, unless the
//   sender is not UTF-8 (the only check after the MAC), read the same frame from a slice that
//   does not start at 0, and `encode` must give back exactly the frame's bytes. The payload goes
//   where the coordinator sends it: 1, a consensus message; 2, a metrics batch.
//
// Crypto here is the stand-in in Fuzz/Support/Crypto.swift (real HMAC-SHA256, checked against
// RFC 4231 below); PeerTransport.swift (swift-nio) is not compiled.
import Consensus
import Crypto
import Model
import Transport
#if canImport(Glibc)
import Glibc
#endif

private let clusterKey: [UInt8] = Array(0..<32)
private let codec = PeerCodec(key: clusterKey)
private let macBytes = 32

@_cdecl("LLVMFuzzerInitialize")
public func fuzzTransportInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>) -> CInt {
    checkHMACAgainstRFC4231()
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTransportFrame(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = inputBytes(data, size)

    let length: Int?
    do {
        length = try PeerCodec.frameLength(bytes[...])
    } catch {
        note("header refused: \(error)")
        return 0
    }
    if (try? codec.decode(bytes[...])) != nil {
        // Only a frame that already carries its HMAC (a seed) may pass.
        guard let length, length <= bytes.count else { invariantFailed("decode accepted a frame frameLength does not see whole") }
        let body = bytes[..<(length - macBytes)]
        check(HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: clusterKey)) == bytes[(length - macBytes)..<length],
              "a frame without its HMAC passed the MAC check")
    }
    guard let length else {
        note("header incomplete")
        return 0
    }
    check(length >= 5 + 16 + 8 + 4 + macBytes && length <= PeerLimits.frameBytesMax, "frame length \(length)")
    let bodyCount = length - macBytes
    guard bodyCount <= bytes.count else {
        note("the input ends inside the frame (\(length) bytes)")
        return 0
    }
    var signed = Array(bytes[..<bodyCount])
    signed += Array(HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: clusterKey)))
    signed += bytes[bodyCount...]

    let frame: PeerFrame
    do {
        frame = try codec.decode(signed[...])
    } catch PeerFrameError.senderNotUTF8 {
        let sender = signed[5..<(5 + Int(signed[4]))]
        check(String(validating: sender, as: UTF8.self) == nil, "senderNotUTF8 for a UTF-8 sender \(hex(sender))")
        note("sender not UTF-8")
        return 0
    } catch {
        invariantFailed("a signed frame was refused (\(error)): \(hex(signed))")
    }
    note("frame: \(frame)")
    check(codec.encode(frame) == Array(signed[..<length]), "encode(decode(frame)) is not the frame")
    check(try! PeerCodec.frameLength(signed[...]) == length, "signing changed the frame length")
    let stream = [0xAA, 0xBB] + signed
    check((try? codec.decode(stream[2...])) == frame, "a slice not starting at 0 decodes to another frame")

    var replayGuard = ReplayGuard(nonce: frame.nonce)
    let verdict = replayGuard.check(frame)
    check((verdict == .accept) == (frame.kind == .data && frame.sequence == 1), "replay guard: \(verdict) for \(frame)")

    switch frame.payload.first {
    case 1: note("consensus: \(String(describing: try? Message.decode(Array(frame.payload.dropFirst()))))")
    case 2: note("metrics: \(String(describing: try? MetricsBatch.decode(wire: Array(frame.payload.dropFirst()))))")
    default: break
    }
    return 0
}

/// RFC 4231 test cases 1, 2 and 6 (a key longer than the block).
private func checkHMACAgainstRFC4231() {
    let cases: [(key: [UInt8], data: [UInt8], mac: String)] = [
        ([UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8),
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        (Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        ([UInt8](repeating: 0xaa, count: 131), Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
    ]
    for (number, test) in cases.enumerated() {
        let mac = HMAC<SHA256>.authenticationCode(for: test.data, using: SymmetricKey(data: test.key))
        check(hex(mac, limit: 64) == test.mac, "the stand-in HMAC-SHA256 fails RFC 4231 vector \(number + 1)")
    }
}

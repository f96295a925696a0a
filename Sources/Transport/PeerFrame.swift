import ChassisKeys
import Crypto
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// The framing of every message between blades: versioned, length-checked and authenticated
/// with the shared cluster key (HMAC-SHA256).
///
/// A connection goes one way. The accepting blade opens it with a `hello` carrying a fresh random
/// nonce; every `data` frame the connecting blade then sends carries that nonce and a sequence
/// number that rises by one. A captured frame replayed on another connection has the wrong nonce;
/// replayed on the same connection, an old sequence number. Either is dropped and counted.
///
///     magic "CM" | version u8 | kind u8 | sender length u8 | sender | nonce 16 | sequence u64
///     | payload length u32 | payload | HMAC-SHA256 32 (over everything before it)
public struct PeerFrame: Equatable, Sendable {
    public enum Kind: UInt8, Sendable {
        case hello = 1
        case data = 2
    }

    public var kind: Kind
    /// The sending blade's member name.
    public var sender: String
    public var nonce: [UInt8]
    public var sequence: UInt64
    public var payload: [UInt8]

    public init(kind: Kind, sender: String, nonce: [UInt8], sequence: UInt64, payload: [UInt8]) {
        self.kind = kind
        self.sender = sender
        self.nonce = nonce
        self.sequence = sequence
        self.payload = payload
    }
}

/// Limits of the peer protocol, in one place.
public enum PeerLimits {
    public static let magic: [UInt8] = [0x43, 0x4D]
    public static let version: UInt8 = 1
    public static let senderBytesMax = 64
    public static let nonceBytes = 16
    public static let macBytes = 32
    /// Bytes before the payload for the longest sender name.
    public static let headerBytesMax = 2 + 1 + 1 + 1 + senderBytesMax + nonceBytes + 8 + 4
    /// The largest payload: the consensus core's largest message (1 MiB: an append, or one
    /// 512 KiB chunk of a snapshot) with room to spare.
    public static let payloadBytesMax = (1 << 20) + (64 << 10)
    public static let frameBytesMax = headerBytesMax + payloadBytesMax + macBytes
    /// Frames waiting to be sent to one peer; beyond it the oldest are dropped (the protocols
    /// above retransmit what matters).
    public static let queuedFramesMax = 1_024
    /// Bytes waiting to be sent to one peer, at most (sixteen of the largest frames).
    public static let queuedBytesMax = 16 << 20
    /// A connection that has not yet carried an authenticated data frame takes no larger frame:
    /// a stranger cannot make a blade buffer megabytes before its MAC is checked. The sending side
    /// opens every connection with an empty data frame (a greeting), so a large first payload is
    /// never refused.
    public static let unauthenticatedFrameBytesMax = 64 << 10
    /// An accepted connection that has not carried an authenticated data frame within this time is closed.
    public static let authenticateWithinMs: Int64 = 3_000
    /// Accepted connections at once, at most: a few per peer (reconnections overlap), at least this many.
    public static let incomingConnectionsMin = 16
    public static let incomingConnectionsPerPeer = 4
}

/// The largest frame a connection's decoder takes now: small until the connection authenticated.
final class FrameLimit {
    var bytesMax = PeerLimits.unauthenticatedFrameBytesMax
}

public enum PeerFrameError: Error, Equatable, Sendable {
    /// Fewer bytes than the frame says; wait for more.
    case incomplete
    case badMagic
    case unsupportedVersion(UInt8)
    case unknownKind(UInt8)
    case senderTooLong
    case senderNotUTF8
    case oversized(Int)
    /// The HMAC does not match: a forged frame, or a blade with another key.
    case forged
}

/// Encodes and decodes frames with one cluster key.
public struct PeerCodec: Sendable {
    /// HMAC-SHA256 with the key's inner and outer pads already hashed: each frame copies it
    /// (a value) instead of deriving them again (measured: a tenth of a 16-blade active
    /// manager's per-message cost).
    let keyed: HMAC<SHA256>

    public init(key: [UInt8]) {
        precondition(key.count >= 16, "a cluster key has at least 16 bytes")
        keyed = HMAC<SHA256>(key: SymmetricKey(data: key))
    }

    func authenticationCode<Bytes: DataProtocol>(_ bytes: Bytes) -> HMAC<SHA256>.MAC {
        var mac = keyed
        mac.update(data: bytes)
        return mac.finalize()
    }

    /// Reads a key file: hex or raw bytes, at least 16 bytes of key.
    public static func loadKey(path: String) throws -> [UInt8] {
        do {
            return try ChassisSecret.clusterKey(path: path)
        } catch let problem as ChassisSecret.Problem {
            throw KeyError(problem.description)
        }
    }

    public struct KeyError: Error, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    public func encode(_ frame: PeerFrame) -> [UInt8] {
        let sender = Array(frame.sender.utf8)
        precondition(sender.count <= PeerLimits.senderBytesMax && frame.nonce.count == PeerLimits.nonceBytes
                     && frame.payload.count <= PeerLimits.payloadBytesMax)
        var bytes = PeerLimits.magic
        bytes.reserveCapacity(PeerLimits.headerBytesMax + frame.payload.count + PeerLimits.macBytes)
        bytes.append(PeerLimits.version)
        bytes.append(frame.kind.rawValue)
        bytes.append(UInt8(sender.count))
        bytes += sender
        bytes += frame.nonce
        withUnsafeBytes(of: frame.sequence.bigEndian) { bytes += $0 }
        withUnsafeBytes(of: UInt32(frame.payload.count).bigEndian) { bytes += $0 }
        bytes += frame.payload
        bytes += Array(authenticationCode(bytes))
        return bytes
    }

    /// The length of the frame at the start of `bytes`, once its header is there; nil if more
    /// bytes are needed to know. Throws on a header that can never become a valid frame.
    public static func frameLength(_ bytes: ArraySlice<UInt8>) throws -> Int? {
        let start = bytes.startIndex
        guard bytes.count >= 5 else { return nil }
        guard bytes[start] == PeerLimits.magic[0], bytes[start + 1] == PeerLimits.magic[1] else { throw PeerFrameError.badMagic }
        guard bytes[start + 2] == PeerLimits.version else { throw PeerFrameError.unsupportedVersion(bytes[start + 2]) }
        guard Kind(rawValue: bytes[start + 3]) != nil else { throw PeerFrameError.unknownKind(bytes[start + 3]) }
        let senderCount = Int(bytes[start + 4])
        guard senderCount <= PeerLimits.senderBytesMax else { throw PeerFrameError.senderTooLong }
        let lengthOffset = 5 + senderCount + PeerLimits.nonceBytes + 8
        guard bytes.count >= lengthOffset + 4 else { return nil }
        var payloadCount = 0
        for index in 0..<4 { payloadCount = payloadCount << 8 | Int(bytes[start + lengthOffset + index]) }
        guard payloadCount <= PeerLimits.payloadBytesMax else { throw PeerFrameError.oversized(payloadCount) }
        return lengthOffset + 4 + payloadCount + PeerLimits.macBytes
    }

    typealias Kind = PeerFrame.Kind

    /// Decodes one whole frame and checks its HMAC.
    public func decode(_ bytes: ArraySlice<UInt8>) throws -> PeerFrame {
        guard let length = try Self.frameLength(bytes) else { throw PeerFrameError.incomplete }
        guard bytes.count >= length else { throw PeerFrameError.incomplete }
        let start = bytes.startIndex
        let body = bytes[start..<(start + length - PeerLimits.macBytes)]
        let mac = bytes[(start + length - PeerLimits.macBytes)..<(start + length)]
        // HashedAuthenticationCode's comparison with bytes takes constant time.
        guard authenticationCode(body) == mac else {
            throw PeerFrameError.forged
        }
        let senderCount = Int(bytes[start + 4])
        var offset = start + 5
        guard let sender = String(validating: bytes[offset..<(offset + senderCount)], as: UTF8.self) else {
            throw PeerFrameError.senderNotUTF8
        }
        offset += senderCount
        let nonce = Array(bytes[offset..<(offset + PeerLimits.nonceBytes)])
        offset += PeerLimits.nonceBytes
        var sequence: UInt64 = 0
        for index in 0..<8 { sequence = sequence << 8 | UInt64(bytes[offset + index]) }
        offset += 8 + 4
        let payload = Array(bytes[offset..<(start + length - PeerLimits.macBytes)])
        return PeerFrame(kind: Kind(rawValue: bytes[start + 3])!, sender: sender, nonce: nonce, sequence: sequence,
                         payload: payload)
    }
}

/// Why frames were dropped, for `/metrics`.
public struct PeerCounters: Sendable, Equatable, Codable {
    public var framesReceived = 0
    public var framesSent = 0
    /// Flushes that wrote to a peer's connection (one `writev` each, however many frames).
    public var writes = 0
    public var bytesReceived = 0
    public var bytesSent = 0
    public var forged = 0
    public var replayed = 0
    public var oversized = 0
    public var malformed = 0
    public var unknownSender = 0
    public var queueDrops = 0
    /// Connections refused: from an address that is no member's, or beyond the cap.
    public var refusedAddress = 0
    public var refusedOverCap = 0
    /// Accepted connections closed for carrying no authenticated frame in time.
    public var unauthenticated = 0

    public init() {}
}

/// The receiving side of one connection: accepts data frames only with this connection's nonce
/// and a sequence number one above the last.
public struct ReplayGuard: Sendable {
    public let nonce: [UInt8]
    private var expectedSequence: UInt64 = 1
    private var sender: String?

    public init(nonce: [UInt8]) {
        self.nonce = nonce
    }

    public enum Verdict: Equatable, Sendable {
        case accept
        case replayed
        /// A second sender on one connection.
        case senderChanged
    }

    public mutating func check(_ frame: PeerFrame) -> Verdict {
        guard frame.kind == .data, frame.nonce == nonce, frame.sequence == expectedSequence else { return .replayed }
        if let sender, sender != frame.sender { return .senderChanged }
        sender = frame.sender
        expectedSequence += 1
        return .accept
    }
}

/// RFC 2741's wire format. Everything this process sends is in network byte order (the flag set);
/// what it receives is read in the byte order the sender's flag names. Bytes from the master agent
/// are never trusted: every length is checked against what is left and against the limits below,
/// and a malformed PDU is a `CodingError`, never a trap.
public enum AgentXLimits {
    /// The fixed header (RFC 2741, 6.1).
    public static let headerBytes = 20
    /// The largest payload accepted or sent. net-snmp's master sends far less (an SNMP message
    /// fits in 64 KiB); anything larger is a broken or hostile peer.
    public static let payloadBytesMax = 1 << 20
    /// Search ranges or variable bindings in one PDU.
    public static let listCountMax = 10_000
}

public struct CodingError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "malformed AgentX PDU: " + message }
}

/// The fields of a header, decoded before the payload is read.
public struct Header: Sendable, Equatable {
    public var version: UInt8
    public var type: PDUType
    public var flags: PDUFlags
    public var sessionID: UInt32
    public var transactionID: UInt32
    public var packetID: UInt32
    public var payloadLength: Int

    /// Decodes the 20 header bytes, checking the version, the type and the payload's length.
    public static func decode(_ bytes: [UInt8]) throws -> Header {
        guard bytes.count == AgentXLimits.headerBytes else { throw CodingError("a header is 20 bytes, got \(bytes.count)") }
        guard bytes[0] == 1 else { throw CodingError("unsupported version \(bytes[0])") }
        guard let type = PDUType(rawValue: bytes[1]) else { throw CodingError("unknown PDU type \(bytes[1])") }
        let flags = PDUFlags(rawValue: bytes[2])
        var reader = ByteReader(bytes, bigEndian: flags.contains(.networkByteOrder))
        reader.offset = 4
        let session = try reader.uint32(), transaction = try reader.uint32(), packet = try reader.uint32()
        let length = try reader.uint32()
        guard length <= UInt32(AgentXLimits.payloadBytesMax) else {
            throw CodingError("a payload of \(length) bytes is beyond the limit of \(AgentXLimits.payloadBytesMax)")
        }
        guard length % 4 == 0 else { throw CodingError("a payload length of \(length) is not a multiple of 4") }
        return Header(version: 1, type: type, flags: flags, sessionID: session, transactionID: transaction,
                      packetID: packet, payloadLength: Int(length))
    }
}

extension PDU {
    /// The PDU on the wire: header and payload, network byte order.
    public func encode() -> [UInt8] {
        var body = ByteWriter()
        var flags: PDUFlags = [.networkByteOrder]
        if instanceRegistration { flags.insert(.instanceRegistration) }
        let contextual: Bool
        switch payload.type {
        case .register, .unregister, .get, .getNext, .getBulk, .testSet, .notify, .ping, .indexAllocate, .indexDeallocate,
             .addAgentCaps, .removeAgentCaps:
            contextual = true
        default:
            contextual = false
        }
        if contextual, let context {
            flags.insert(.nonDefaultContext)
            body.octets(context)
        }
        switch payload {
        case let .open(timeout, id, description):
            body.bytes([timeout, 0, 0, 0])
            body.oid(id)
            body.octets(Array(description.utf8))
        case let .close(reason):
            body.bytes([reason.rawValue, 0, 0, 0])
        case let .register(timeout, priority, subtree, rangeSubID, upperBound):
            body.bytes([timeout, priority, rangeSubID, 0])
            body.oid(subtree)
            if rangeSubID != 0, let upperBound { body.uint32(upperBound) }
        case let .unregister(priority, subtree, rangeSubID, upperBound):
            body.bytes([0, priority, rangeSubID, 0])
            body.oid(subtree)
            if rangeSubID != 0, let upperBound { body.uint32(upperBound) }
        case let .get(ranges), let .getNext(ranges):
            for range in ranges { body.range(range) }
        case let .getBulk(nonRepeaters, maxRepetitions, ranges):
            body.uint16(nonRepeaters)
            body.uint16(maxRepetitions)
            for range in ranges { body.range(range) }
        case let .notify(varBinds):
            for varBind in varBinds { body.varBind(varBind) }
        case .ping, .unhandled:
            break
        case let .response(sysUpTime, error, index, varBinds):
            body.uint32(sysUpTime)
            body.uint16(error.rawValue)
            body.uint16(index)
            for varBind in varBinds { body.varBind(varBind) }
        }
        var header = ByteWriter()
        header.bytes([1, payload.type.rawValue, flags.rawValue, 0])
        header.uint32(sessionID)
        header.uint32(transactionID)
        header.uint32(packetID)
        header.uint32(UInt32(body.data.count))
        return header.data + body.data
    }

    /// Decodes a payload that followed `header`. Fails on anything malformed, truncated or left over.
    public static func decode(header: Header, payload bytes: [UInt8]) throws -> PDU {
        guard bytes.count == header.payloadLength else {
            throw CodingError("the header announces \(header.payloadLength) payload bytes, got \(bytes.count)")
        }
        var reader = ByteReader(bytes, bigEndian: header.flags.contains(.networkByteOrder))
        var context: [UInt8]?
        if header.flags.contains(.nonDefaultContext) {
            switch header.type {
            case .register, .unregister, .get, .getNext, .getBulk, .testSet, .notify, .ping, .indexAllocate, .indexDeallocate,
                 .addAgentCaps, .removeAgentCaps:
                context = try reader.octets()
            default:
                throw CodingError("a \(header.type) PDU carries no context")
            }
        }
        let payload: Payload
        switch header.type {
        case .open:
            let timeout = try reader.byte()
            try reader.skip(3)
            let id = try reader.oid().oid
            payload = .open(timeoutSeconds: timeout, id: id, description: String(decoding: try reader.octets(), as: UTF8.self))
        case .close:
            let code = try reader.byte()
            try reader.skip(3)
            guard let reason = CloseReason(rawValue: code) else { throw CodingError("unknown close reason \(code)") }
            payload = .close(reason)
        case .register, .unregister:
            let timeout = try reader.byte(), priority = try reader.byte(), rangeSubID = try reader.byte()
            try reader.skip(1)
            let subtree = try reader.oid().oid
            var upperBound: UInt32?
            if rangeSubID != 0 {
                guard Int(rangeSubID) <= subtree.components.count else {
                    throw CodingError("range sub-identifier \(rangeSubID) is beyond the subtree's \(subtree.components.count)")
                }
                upperBound = try reader.uint32()
            }
            payload = header.type == .register
                ? .register(timeoutSeconds: timeout, priority: priority, subtree: subtree, rangeSubID: rangeSubID, upperBound: upperBound)
                : .unregister(priority: priority, subtree: subtree, rangeSubID: rangeSubID, upperBound: upperBound)
        case .get:
            payload = .get(try reader.ranges())
        case .getNext:
            payload = .getNext(try reader.ranges())
        case .getBulk:
            let nonRepeaters = try reader.uint16(), maxRepetitions = try reader.uint16()
            payload = .getBulk(nonRepeaters: nonRepeaters, maxRepetitions: maxRepetitions, ranges: try reader.ranges())
        case .notify:
            payload = .notify(try reader.varBinds())
        case .ping:
            payload = .ping
        case .response:
            let upTime = try reader.uint32(), code = try reader.uint16(), index = try reader.uint16()
            // An error this side does not know by name is still an error: kept as processingError.
            payload = .response(sysUpTime: upTime, error: ResponseError(rawValue: code) ?? .processingError, index: index,
                                varBinds: try reader.varBinds())
        default:
            // Set phases and the rest: answered by type, their payload not needed.
            reader.offset = bytes.count
            payload = .unhandled(header.type)
        }
        guard reader.offset == bytes.count else {
            throw CodingError("\(bytes.count - reader.offset) bytes left over after a \(header.type) PDU")
        }
        return PDU(sessionID: header.sessionID, transactionID: header.transactionID, packetID: header.packetID,
                   context: context, instanceRegistration: header.flags.contains(.instanceRegistration), payload: payload)
    }

    /// Decodes one whole PDU (header and payload) from `bytes`, which must hold exactly one.
    public static func decode(_ bytes: [UInt8]) throws -> PDU {
        guard bytes.count >= AgentXLimits.headerBytes else { throw CodingError("\(bytes.count) bytes is shorter than a header") }
        let header = try Header.decode(Array(bytes.prefix(AgentXLimits.headerBytes)))
        return try decode(header: header, payload: Array(bytes.dropFirst(AgentXLimits.headerBytes)))
    }
}

struct ByteWriter {
    var data: [UInt8] = []

    mutating func bytes(_ values: [UInt8]) { data += values }
    mutating func uint16(_ value: UInt16) { data += [UInt8(value >> 8), UInt8(value & 0xFF)] }
    mutating func uint32(_ value: UInt32) {
        data += [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }
    mutating func uint64(_ value: UInt64) {
        uint32(UInt32(value >> 32))
        uint32(UInt32(value & 0xFFFF_FFFF))
    }

    /// RFC 2741, 5.3: a length, the bytes, padding to a multiple of 4.
    mutating func octets(_ value: [UInt8]) {
        uint32(UInt32(value.count))
        data += value
        data += [UInt8](repeating: 0, count: (4 - value.count % 4) % 4)
    }

    /// RFC 2741, 5.1, using the `1.3.6.1.x` prefix where it applies.
    mutating func oid(_ oid: OID, include: Bool = false) {
        var components = oid.components
        var prefix: UInt8 = 0
        if components.count >= 5, Array(components.prefix(4)) == [1, 3, 6, 1], (1...255).contains(components[4]) {
            prefix = UInt8(components[4])
            components = Array(components.dropFirst(5))
        }
        data += [UInt8(min(components.count, OID.componentsMax)), prefix, include ? 1 : 0, 0]
        for component in components.prefix(OID.componentsMax) { uint32(component) }
    }

    mutating func range(_ range: SearchRange) {
        oid(range.start, include: range.include)
        oid(range.end)
    }

    mutating func varBind(_ varBind: VarBind) {
        uint16(varBind.value.typeCode)
        uint16(0)
        oid(varBind.name)
        switch varBind.value {
        case .integer(let value): uint32(UInt32(bitPattern: value))
        case .octetString(let bytes), .opaque(let bytes): octets(bytes)
        case .objectIdentifier(let oid): self.oid(oid)
        case let .ipAddress(a, b, c, d): octets([a, b, c, d])
        case .counter32(let value), .gauge32(let value), .timeTicks(let value): uint32(value)
        case .counter64(let value): uint64(value)
        case .null, .noSuchObject, .noSuchInstance, .endOfMibView: break
        }
    }
}

struct ByteReader {
    let data: [UInt8]
    let bigEndian: Bool
    var offset = 0

    init(_ data: [UInt8], bigEndian: Bool) {
        self.data = data
        self.bigEndian = bigEndian
    }

    mutating func take(_ count: Int) throws -> ArraySlice<UInt8> {
        guard count >= 0, count <= data.count - offset else {
            throw CodingError("needs \(count) more bytes at offset \(offset), \(data.count - offset) left")
        }
        defer { offset += count }
        return data[offset..<(offset + count)]
    }

    mutating func skip(_ count: Int) throws { _ = try take(count) }
    mutating func byte() throws -> UInt8 { try take(1).first ?? 0 }

    mutating func uint16() throws -> UInt16 {
        let bytes = Array(try take(2))
        let value = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
        return bigEndian ? value : value.byteSwapped
    }

    mutating func uint32() throws -> UInt32 {
        let bytes = Array(try take(4))
        let value = UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3])
        return bigEndian ? value : value.byteSwapped
    }

    mutating func uint64() throws -> UInt64 {
        // RFC 2741, 5.4: the two halves of a Counter64 follow the byte order too (most significant first).
        let high = UInt64(try uint32()), low = UInt64(try uint32())
        return bigEndian ? high << 32 | low : low << 32 | high
    }

    mutating func octets() throws -> [UInt8] {
        let length = try uint32()
        guard length <= UInt32(data.count - offset) else {
            throw CodingError("an octet string of \(length) bytes at offset \(offset - 4) runs past the PDU")
        }
        let value = Array(try take(Int(length)))
        try skip((4 - Int(length) % 4) % 4)
        return value
    }

    mutating func oid() throws -> (oid: OID, include: Bool) {
        let count = Int(try byte()), prefix = try byte(), include = try byte()
        try skip(1)
        guard count <= OID.componentsMax else { throw CodingError("an OID of \(count) sub-identifiers (at most 128)") }
        guard include <= 1 else { throw CodingError("an OID's include field is \(include), not 0 or 1") }
        var components: [UInt32] = prefix == 0 ? [] : [1, 3, 6, 1, UInt32(prefix)]
        components.reserveCapacity(components.count + count)
        for _ in 0..<count { components.append(try uint32()) }
        guard components.count <= OID.componentsMax else { throw CodingError("an OID of more than 128 sub-identifiers") }
        return (OID(components), include == 1)
    }

    mutating func ranges() throws -> [SearchRange] {
        var ranges: [SearchRange] = []
        while offset < data.count {
            guard ranges.count < AgentXLimits.listCountMax else { throw CodingError("more than \(AgentXLimits.listCountMax) search ranges") }
            let start = try oid()
            let end = try oid()
            ranges.append(SearchRange(start: start.oid, include: start.include, end: end.oid))
        }
        return ranges
    }

    mutating func varBinds() throws -> [VarBind] {
        var list: [VarBind] = []
        while offset < data.count {
            guard list.count < AgentXLimits.listCountMax else { throw CodingError("more than \(AgentXLimits.listCountMax) variable bindings") }
            let type = try uint16()
            try skip(2)
            let name = try oid().oid
            let value: Value
            switch type {
            case 2: value = .integer(Int32(bitPattern: try uint32()))
            case 4: value = .octetString(try octets())
            case 5: value = .null
            case 6: value = .objectIdentifier(try oid().oid)
            case 64:
                let address = try octets()
                guard address.count == 4 else { throw CodingError("an IpAddress of \(address.count) bytes") }
                value = .ipAddress(address[0], address[1], address[2], address[3])
            case 65: value = .counter32(try uint32())
            case 66: value = .gauge32(try uint32())
            case 67: value = .timeTicks(try uint32())
            case 68: value = .opaque(try octets())
            case 70: value = .counter64(try uint64())
            case 128: value = .noSuchObject
            case 129: value = .noSuchInstance
            case 130: value = .endOfMibView
            default: throw CodingError("unknown variable binding type \(type)")
            }
            list.append(VarBind(name, value))
        }
        return list
    }
}

/// The AgentX protocol's messages (RFC 2741), as values: what a subagent sends and receives.
/// Encoding and decoding are in `PDU+Coding.swift`; nothing here does I/O.

/// RFC 2741, 6.1: h.type.
public enum PDUType: UInt8, Sendable {
    case open = 1, close, register, unregister, get, getNext, getBulk, testSet, commitSet, undoSet, cleanupSet,
         notify, ping, indexAllocate, indexDeallocate, addAgentCaps, removeAgentCaps, response
}

/// RFC 2741, 6.1: h.flags.
public struct PDUFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let instanceRegistration = PDUFlags(rawValue: 0x01)
    public static let newIndex = PDUFlags(rawValue: 0x02)
    public static let anyIndex = PDUFlags(rawValue: 0x04)
    public static let nonDefaultContext = PDUFlags(rawValue: 0x08)
    public static let networkByteOrder = PDUFlags(rawValue: 0x10)
}

/// RFC 2741, 6.2.2: c.reason.
public enum CloseReason: UInt8, Sendable {
    case other = 1, parseError, protocolError, timeouts, shutdown, byManager
}

/// RFC 2741, 6.2.16: res.error (the AgentX errors, and the SNMP errors a subagent may return).
public enum ResponseError: UInt16, Sendable {
    case noError = 0
    case genErr = 5
    case noAccess = 6
    case notWritable = 17
    case openFailed = 256, notOpen, indexWrongType, indexAlreadyAllocated, indexNoneAvailable, indexNotAllocated,
         unsupportedContext, duplicateRegistration, unknownRegistration, unknownAgentCaps, parseError, requestDenied,
         processingError
}

/// A variable binding's value (RFC 2741, 5.4), the SNMP types and the three exceptions.
public enum Value: Sendable, Hashable {
    case integer(Int32)
    case octetString([UInt8])
    case null
    case objectIdentifier(OID)
    case ipAddress(UInt8, UInt8, UInt8, UInt8)
    case counter32(UInt32)
    case gauge32(UInt32)
    case timeTicks(UInt32)
    case opaque([UInt8])
    case counter64(UInt64)
    case noSuchObject
    case noSuchInstance
    case endOfMibView

    /// Text as an octet string (UTF-8).
    public static func string(_ text: String) -> Value { .octetString(Array(text.utf8)) }

    var typeCode: UInt16 {
        switch self {
        case .integer: return 2
        case .octetString: return 4
        case .null: return 5
        case .objectIdentifier: return 6
        case .ipAddress: return 64
        case .counter32: return 65
        case .gauge32: return 66
        case .timeTicks: return 67
        case .opaque: return 68
        case .counter64: return 70
        case .noSuchObject: return 128
        case .noSuchInstance: return 129
        case .endOfMibView: return 130
        }
    }
}

public struct VarBind: Sendable, Hashable {
    public var name: OID
    public var value: Value
    public init(_ name: OID, _ value: Value) {
        self.name = name
        self.value = value
    }
}

/// RFC 2741, 5.2: a search range. `end` null means unbounded; `include` makes `start` itself a candidate.
public struct SearchRange: Sendable, Hashable {
    public var start: OID
    public var include: Bool
    public var end: OID
    public init(start: OID, include: Bool, end: OID) {
        self.start = start
        self.include = include
        self.end = end
    }
}

/// What a PDU carries after its header.
public enum Payload: Sendable, Hashable {
    case open(timeoutSeconds: UInt8, id: OID, description: String)
    case close(CloseReason)
    case register(timeoutSeconds: UInt8, priority: UInt8, subtree: OID, rangeSubID: UInt8, upperBound: UInt32?)
    case unregister(priority: UInt8, subtree: OID, rangeSubID: UInt8, upperBound: UInt32?)
    case get([SearchRange])
    case getNext([SearchRange])
    case getBulk(nonRepeaters: UInt16, maxRepetitions: UInt16, ranges: [SearchRange])
    case notify([VarBind])
    case ping
    case response(sysUpTime: UInt32, error: ResponseError, index: UInt16, varBinds: [VarBind])
    /// A PDU this subagent does not act on (the set phases, index allocation, agent capabilities):
    /// its payload is skipped and it is answered by type.
    case unhandled(PDUType)

    public var type: PDUType {
        switch self {
        case .open: return .open
        case .close: return .close
        case .register: return .register
        case .unregister: return .unregister
        case .get: return .get
        case .getNext: return .getNext
        case .getBulk: return .getBulk
        case .notify: return .notify
        case .ping: return .ping
        case .response: return .response
        case .unhandled(let type): return type
        }
    }
}

public struct PDU: Sendable, Hashable {
    public var sessionID: UInt32
    public var transactionID: UInt32
    public var packetID: UInt32
    /// The SNMP context (nil: the default context).
    public var context: [UInt8]?
    public var instanceRegistration: Bool
    public var payload: Payload

    public init(sessionID: UInt32, transactionID: UInt32 = 0, packetID: UInt32, context: [UInt8]? = nil,
                instanceRegistration: Bool = false, payload: Payload) {
        self.sessionID = sessionID
        self.transactionID = transactionID
        self.packetID = packetID
        self.context = context
        self.instanceRegistration = instanceRegistration
        self.payload = payload
    }

    /// The context as text, nil for the default context.
    public var contextName: String? { context.map { String(decoding: $0, as: UTF8.self) } }
}

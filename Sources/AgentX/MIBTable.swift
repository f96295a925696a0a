/// A subagent's objects at one moment: instances sorted by OID, answered by Get, GetNext and
/// GetBulk as RFC 2741, 7.2.3 describes. Pure; built once per change of the data and then only read.
public struct MIBTable: Sendable {
    public private(set) var names: [OID]
    public private(set) var values: [Value]

    /// Sorts `entries`; a later duplicate of a name replaces an earlier one.
    public init(_ entries: [VarBind]) {
        var byName: [OID: Value] = [:]
        for entry in entries { byName[entry.name] = entry.value }
        let sorted = byName.sorted { $0.key < $1.key }
        names = sorted.map(\.key)
        values = sorted.map(\.value)
    }

    public var count: Int { names.count }

    /// The position of the first name not less than `oid`.
    func lowerBound(_ oid: OID) -> Int {
        var low = 0, high = names.count
        while low < high {
            let middle = (low + high) / 2
            if names[middle] < oid { low = middle + 1 } else { high = middle }
        }
        return low
    }

    public func get(_ oid: OID) -> Value? {
        let position = lowerBound(oid)
        return position < names.count && names[position] == oid ? values[position] : nil
    }

    /// Get: the instance, or noSuchInstance under an object this table has instances of (a
    /// column), or noSuchObject.
    public func answerGet(_ oid: OID) -> VarBind {
        if let value = get(oid) { return VarBind(oid, value) }
        let position = lowerBound(oid)
        if position < names.count, oid.components.count > 1, names[position].hasPrefix(OID(Array(oid.components.dropLast()))) {
            return VarBind(oid, .noSuchInstance)
        }
        return VarBind(oid, .noSuchObject)
    }

    /// GetNext over one search range: the first instance after `start` (or at it, if included)
    /// and before `end` (unless null); endOfMibView named `start` when there is none.
    public func answerNext(_ range: SearchRange) -> VarBind {
        var position = lowerBound(range.start)
        if position < names.count, names[position] == range.start, !range.include { position += 1 }
        if position < names.count, range.end.isNull || names[position] < range.end {
            return VarBind(names[position], values[position])
        }
        return VarBind(range.start, .endOfMibView)
    }

    /// GetBulk (RFC 2741, 7.2.3.2): the non-repeaters once, then up to `maxRepetitions` rounds of
    /// the others, each round continuing from the last, stopping early when every repeater ended.
    /// At most `varBindsMax` bindings in all.
    public func answerBulk(nonRepeaters: Int, maxRepetitions: Int, ranges: [SearchRange], varBindsMax: Int) -> [VarBind] {
        let fixed = min(max(0, nonRepeaters), ranges.count)
        var answer = ranges.prefix(fixed).map(answerNext)
        var current = Array(ranges.dropFirst(fixed))
        guard !current.isEmpty else { return answer }
        for _ in 0..<max(0, maxRepetitions) {
            guard answer.count + current.count <= varBindsMax else { break }
            var ended = 0
            for (index, range) in current.enumerated() {
                let found = answerNext(range)
                answer.append(found)
                if found.value == .endOfMibView {
                    ended += 1
                } else {
                    current[index] = SearchRange(start: found.name, include: false, end: range.end)
                }
            }
            if ended == current.count { break }
        }
        return answer
    }
}

/// How a subagent answers the master's requests: a pure function of the request and the table
/// of the request's context (nil: a context this subagent does not serve).
public enum Responder {
    /// Bindings in one answer; net-snmp's master asks for far fewer.
    public static let varBindsMax = 2_048

    public static func answer(_ request: PDU, sysUpTime: UInt32, table: MIBTable?) -> PDU? {
        func reply(_ error: ResponseError, _ index: UInt16 = 0, _ varBinds: [VarBind] = []) -> PDU {
            PDU(sessionID: request.sessionID, transactionID: request.transactionID, packetID: request.packetID,
                payload: .response(sysUpTime: sysUpTime, error: error, index: index, varBinds: varBinds))
        }
        switch request.payload {
        case .get(let ranges):
            guard let table else { return reply(.unsupportedContext) }
            return reply(.noError, 0, ranges.prefix(varBindsMax).map { table.answerGet($0.start) })
        case .getNext(let ranges):
            guard let table else { return reply(.unsupportedContext) }
            return reply(.noError, 0, ranges.prefix(varBindsMax).map(table.answerNext))
        case let .getBulk(nonRepeaters, maxRepetitions, ranges):
            guard let table else { return reply(.unsupportedContext) }
            return reply(.noError, 0, table.answerBulk(nonRepeaters: Int(nonRepeaters), maxRepetitions: Int(maxRepetitions),
                                                       ranges: Array(ranges.prefix(varBindsMax)), varBindsMax: varBindsMax))
        case .unhandled(.testSet):
            // Every object here is read-only.
            return reply(.notWritable, 1)
        case .unhandled(.commitSet), .unhandled(.undoSet):
            return reply(.noError)
        case .unhandled(.cleanupSet):
            // RFC 2741, 7.2.4.4: no response to CleanupSet.
            return nil
        case .ping:
            return reply(.noError)
        case .open, .register, .unregister, .notify, .unhandled:
            // Requests a master does not send to a subagent.
            return reply(.processingError)
        case .close, .response:
            return nil
        }
    }
}

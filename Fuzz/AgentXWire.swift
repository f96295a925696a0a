// libFuzzer entry for what snmpd (the AgentX master) sends chassis-snmp (Sources/AgentX): a
// header and a payload, decoded as `AgentXConnection.read` does (`Header.decode`, then
// `PDU.decode(header:payload:)`), in either byte order.
//
// For each PDU that decodes: its encoding (always network byte order) decodes to the same PDU
// (a PDU the subagent does not act on keeps only its type); the responder's answer from a small
// table encodes and decodes again; a walk continues strictly forward.
import AgentX

private let table = MIBTable([
    VarBind(OID([1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1, 7, 1]), .string("Chassis")),
    VarBind(OID([1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1, 11, 1]), .string("660007770088")),
    VarBind(OID([1, 3, 6, 1, 2, 1, 99, 1, 1, 1, 4, 1101]), .integer(473)),
    VarBind(OID([1, 3, 6, 1, 4, 1, 99999, 1, 2, 3, 0]), .gauge32(7)),
])

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAgentXWire(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = inputBytes(data, size)
    let pdu: PDU
    do {
        guard bytes.count >= AgentXLimits.headerBytes else { throw CodingError("short") }
        let header = try Header.decode(Array(bytes.prefix(AgentXLimits.headerBytes)))
        // The reader takes exactly the announced length; the rest would be the next PDU.
        let rest = Array(bytes.dropFirst(AgentXLimits.headerBytes))
        guard rest.count >= header.payloadLength else { throw CodingError("truncated") }
        pdu = try PDU.decode(header: header, payload: Array(rest.prefix(header.payloadLength)))
    } catch {
        note("refused: \(error)")
        return 0
    }
    note("pdu: \(pdu)")
    let encoded = pdu.encode()
    check(encoded.count % 4 == 0, "an encoding of \(encoded.count) bytes")
    do {
        let again = try PDU.decode(encoded)
        check(again == pdu, "decode(encode(x)) != x\n  x:     \(pdu)\n  again: \(again)")
    } catch {
        invariantFailed("the decoder refuses the encoder's output (\(error)): \(hex(encoded))")
    }
    if let answer = Responder.answer(pdu, sysUpTime: 1, table: table) {
        do {
            let again = try PDU.decode(answer.encode())
            check(again == answer, "the answer does not survive its encoding: \(answer)")
        } catch {
            invariantFailed("the decoder refuses an answer (\(error)): \(answer)")
        }
        if case .getNext(let ranges) = pdu.payload, case let .response(_, _, _, varBinds) = answer.payload {
            for (range, found) in zip(ranges, varBinds) where found.value != .endOfMibView {
                check(range.include ? !(found.name < range.start) : range.start < found.name, "GetNext went backwards: \(range) -> \(found)")
                check(range.end.isNull || found.name < range.end, "GetNext past the range's end: \(range) -> \(found)")
            }
        }
    }
    return 0
}

@testable import AgentX
import Testing

@Suite struct PDUCodingTests {
    static let entity = OID([1, 3, 6, 1, 2, 1, 47])

    static let samples: [PDU] = [
        PDU(sessionID: 0, packetID: 1, payload: .open(timeoutSeconds: 5, id: OID([1, 3, 6, 1, 4, 1, 99999, 1]), description: "chassis-snmp")),
        PDU(sessionID: 7, packetID: 2, payload: .close(.shutdown)),
        PDU(sessionID: 7, packetID: 3, context: Array("customer-a".utf8),
            payload: .register(timeoutSeconds: 0, priority: 127, subtree: entity, rangeSubID: 0, upperBound: nil)),
        PDU(sessionID: 7, packetID: 4, payload: .register(timeoutSeconds: 0, priority: 127, subtree: entity, rangeSubID: 7, upperBound: 30)),
        PDU(sessionID: 7, packetID: 5, payload: .unregister(priority: 127, subtree: entity, rangeSubID: 0, upperBound: nil)),
        PDU(sessionID: 7, transactionID: 9, packetID: 6, payload: .get([SearchRange(start: entity + [1, 1, 1, 1, 11, 1000], include: false, end: .null)])),
        PDU(sessionID: 7, transactionID: 9, packetID: 7, context: Array("ab".utf8),
            payload: .getNext([SearchRange(start: entity, include: true, end: OID([1, 3, 6, 1, 2, 1, 48])),
                               SearchRange(start: OID([1, 3]), include: false, end: .null)])),
        PDU(sessionID: 7, transactionID: 9, packetID: 8,
            payload: .getBulk(nonRepeaters: 1, maxRepetitions: 10, ranges: [SearchRange(start: entity, include: false, end: .null)])),
        PDU(sessionID: 7, packetID: 9, payload: .notify([
            VarBind(OID([1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0]), .objectIdentifier(OID([1, 3, 6, 1, 4, 1, 99999, 1, 0, 1]))),
            VarBind(OID([1, 3, 6, 1, 4, 1, 99999, 1, 1, 4, 1, 6, 3]), .string("temperature high")),
        ])),
        PDU(sessionID: 7, packetID: 10, payload: .ping),
        PDU(sessionID: 7, packetID: 11, payload: .response(sysUpTime: 123_456, error: .noError, index: 0, varBinds: [
            VarBind(OID([1, 3, 6, 1, 2, 1, 1, 1, 0]), .integer(-42)),
            VarBind(OID([1, 3, 6, 1, 2, 1, 1, 2, 0]), .octetString([0, 1, 2])),
            VarBind(OID([1, 3, 6, 1, 2, 1, 1, 3, 0]), .null),
            VarBind(OID([2, 5]), .objectIdentifier(OID([0, 0]))),
            VarBind(OID([1, 3, 6, 1, 2, 1, 1, 5, 0]), .ipAddress(10, 0, 0, 1)),
            VarBind(OID([1, 3, 6, 1, 2, 1, 1, 6, 0]), .counter32(4_000_000_000)),
            VarBind(OID([1, 3, 6, 1, 2, 1, 1, 7, 0]), .gauge32(7)),
            VarBind(OID([1, 3, 6, 1, 2, 1, 1, 8, 0]), .timeTicks(99)),
            VarBind(OID([1, 3, 6, 1, 2, 1, 1, 9, 0]), .opaque([9, 9, 9, 9, 9])),
            VarBind(OID([1, 3, 6, 1, 2, 1, 1, 10, 0]), .counter64(0x0102_0304_0506_0708)),
            VarBind(OID([1, 3, 6, 1, 2, 1, 1, 11, 0]), .noSuchObject),
            VarBind(OID([1, 3, 6, 1, 2, 1, 1, 12, 0]), .noSuchInstance),
            VarBind(OID([1, 3, 6, 1, 2, 1, 1, 13, 0]), .endOfMibView),
        ])),
    ]

    @Test(arguments: samples)
    func roundTrip(_ pdu: PDU) throws {
        let bytes = pdu.encode()
        #expect(bytes.count % 4 == 0)
        #expect(bytes[0] == 1)
        #expect(bytes[2] & 0x10 != 0, "sent in network byte order")
        #expect(try PDU.decode(bytes) == pdu)
    }

    /// A header as RFC 2741 draws it: version, type, flags, reserved, then four 32-bit fields.
    @Test func headerLayout() throws {
        let bytes = PDU(sessionID: 0x0102_0304, transactionID: 0x0506_0708, packetID: 0x090A_0B0C,
                        context: Array("c".utf8), payload: .ping).encode()
        #expect(Array(bytes.prefix(4)) == [1, 13, 0x18, 0])
        #expect(Array(bytes[4..<16]) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
        #expect(Array(bytes[16..<20]) == [0, 0, 0, 8], "the context: a length and one byte padded to 4")
        #expect(Array(bytes[20...]) == [0, 0, 0, 1, 0x63, 0, 0, 0])
    }

    /// OIDs under 1.3.6.1 travel with the prefix byte (RFC 2741, 5.1).
    @Test func oidPrefix() {
        var writer = ByteWriter()
        writer.oid(OID([1, 3, 6, 1, 2, 1, 47]), include: true)
        #expect(writer.data == [2, 2, 1, 0, 0, 0, 0, 1, 0, 0, 0, 47])
        var other = ByteWriter()
        other.oid(OID([1, 2]))
        #expect(other.data == [2, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2])
    }

    /// A master that sends little-endian PDUs (the flag clear) is read correctly, Counter64 too.
    @Test func littleEndianInput() throws {
        var payload: [UInt8] = [0x78, 0x56, 0x34, 0x12, 0, 0, 0, 0]  // sysUpTime, error 0, index 0
        payload += [70, 0, 0, 0]  // Counter64, reserved
        payload += [1, 2, 0, 0, 1, 0, 0, 0]  // 1.3.6.1.2.1
        payload += [8, 7, 6, 5, 4, 3, 2, 1]
        let header: [UInt8] = [1, 18, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, UInt8(payload.count), 0, 0, 0]
        let pdu = try PDU.decode(header + payload)
        #expect(pdu.sessionID == 5 && pdu.packetID == 3)
        #expect(pdu.payload == .response(sysUpTime: 0x1234_5678, error: .noError, index: 0,
                                         varBinds: [VarBind(OID([1, 3, 6, 1, 2, 1]), .counter64(0x0102_0304_0506_0708))]))
    }

    static func header(type: UInt8 = 5, flags: UInt8 = 0x10, length: UInt32) -> [UInt8] {
        [1, type, flags, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1,
         UInt8(length >> 24), UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF), UInt8(length & 0xFF)]
    }

    /// Malformed, forged and oversized input: a clear error every time, never a crash.
    static let malformedCases: [([UInt8], String)] = {
        var cases: [([UInt8], String)] = []
        cases.append(([2, 5, 0x10, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0], "unsupported version 2"))
        cases.append(([1, 99, 0x10, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0], "unknown PDU type 99"))
        cases.append((header(length: 0x7FFF_FFFC), "beyond the limit"))
        cases.append((header(length: 6), "not a multiple of 4"))
        cases.append((header(length: 8) + [0, 0, 0], "announces 8 payload bytes, got 3"))
        cases.append((header(length: 8) + [200, 0, 0, 0, 0, 0, 0, 0], "200 sub-identifiers"))
        cases.append((header(length: 8) + [5, 0, 0, 0, 0, 0, 0, 1], "needs"))
        cases.append((header(flags: 0x18, length: 8) + [0, 0, 1, 0, 0, 0, 0, 0], "runs past the PDU"))
        cases.append((header(type: 18, length: 16) + [0, 0, 0, 0, 0, 0, 0, 0, 0, 99, 0, 0, 0, 0, 0, 0], "unknown variable binding type 99"))
        cases.append((header(type: 2, length: 4) + [77, 0, 0, 0], "unknown close reason 77"))
        cases.append((header(type: 18, length: 28) + [0, 0, 0, 0, 0, 0, 0, 0, 0, 64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4, 5, 0, 0, 0], "an IpAddress of 5 bytes"))
        cases.append((header(length: 8) + [0, 0, 7, 0, 0, 0, 0, 0], "include field"))
        cases.append((header(length: 4) + [0, 0, 0, 0], "needs"))
        cases.append((header(type: 18, flags: 0x18, length: 8) + [0, 0, 0, 0, 0, 0, 0, 0], "carries no context"))
        cases.append(([1, 5, 0x10], "shorter than a header"))
        return cases
    }()

    @Test(arguments: malformedCases)
    func malformed(_ bytes: [UInt8], _ expected: String) {
        do {
            _ = try PDU.decode(bytes)
            Issue.record("decoded \(bytes) without an error")
        } catch let error as CodingError {
            #expect(error.description.contains(expected), "\(error)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    /// Every truncation and every single-byte corruption of valid PDUs decodes or fails cleanly.
    @Test func everyTruncationAndFlip() {
        for pdu in Self.samples {
            let bytes = pdu.encode()
            for length in 0..<bytes.count { _ = try? PDU.decode(Array(bytes.prefix(length))) }
            for position in bytes.indices {
                for flip: UInt8 in [0x01, 0x80, 0xFF] {
                    var corrupted = bytes
                    corrupted[position] ^= flip
                    _ = try? PDU.decode(corrupted)
                }
            }
        }
    }

    @Test func oidText() {
        #expect(OID("1.3.6.1.2.1.47")?.components == [1, 3, 6, 1, 2, 1, 47])
        #expect(OID(".1.3")?.components == [1, 3])
        #expect(OID("1..3") == nil)
        #expect(OID("1.3.x") == nil)
        #expect(OID("1.99999999999") == nil)
        #expect(OID("") == nil)
        #expect(OID([1, 3]) < OID([1, 3, 0]))
        #expect(OID([1, 3, 6]) < OID([1, 4]))
        #expect(!(OID([1, 4]) < OID([1, 3, 6])))
    }
}

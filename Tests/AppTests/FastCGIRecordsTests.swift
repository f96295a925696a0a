import Testing
@testable import App

/// The response framing the FastCGI edge writes in one `writev`, decoded as nginx reads it.
@Suite struct FastCGIRecordsTests {
    struct Record {
        var type: UInt8
        var requestID: Int
        var content: [UInt8]
    }

    /// The bytes the FastCGI edge writes for a response: the layout's segments in order.
    static func response(requestID: Int, head: [UInt8], body: [UInt8]) -> [UInt8] {
        let layout = FastCGIRecords.layout(requestID: requestID, headCount: head.count, bodyCount: body.count)
        var out: [UInt8] = []
        for segment in layout.segments {
            switch segment {
            case .framing(let range): out += layout.framing[range]
            case .head(let range): out += head[range]
            case .body(let range): out += body[range]
            }
        }
        return out
    }

    /// Splits bytes into records, checking each header as a FastCGI 1.0 peer would.
    static func decode(_ bytes: [UInt8]) throws -> [Record] {
        var records: [Record] = []
        var at = 0
        while at < bytes.count {
            try #require(bytes.count - at >= 8, "a truncated header")
            #expect(bytes[at] == 1, "version 1")
            let length = Int(bytes[at + 4]) << 8 | Int(bytes[at + 5])
            let padding = Int(bytes[at + 6])
            try #require(bytes.count - at - 8 >= length + padding, "a truncated record")
            #expect((length + padding) % 8 == 0, "records are padded to 8 bytes")
            records.append(Record(type: bytes[at + 1], requestID: Int(bytes[at + 2]) << 8 | Int(bytes[at + 3]),
                                  content: Array(bytes[(at + 8)..<(at + 8 + length)])))
            at += 8 + length + padding
        }
        return records
    }

    @Test(arguments: [0, 1, 7, 8, 41_577, 65_528, 65_529, 200_003])
    func theHeadAndBodyArriveWholeAndTheRequestEnds(bodyCount: Int) throws {
        let head = Array("Status: 200 OK\r\nContent-Type: application/json\r\n\r\n".utf8)
        let body = (0..<bodyCount).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let records = try Self.decode(Self.response(requestID: 513, head: head, body: body))
        #expect(records.allSatisfy { $0.requestID == 513 })
        let stdout = records.filter { $0.type == 6 }
        #expect(stdout.flatMap(\.content) == head + body)
        #expect(stdout.allSatisfy { $0.content.count <= 65_535 })
        // The stream ends with an empty STDOUT record, then END_REQUEST (status 0, complete).
        #expect(records.count >= 3)
        #expect(records[records.count - 2].type == 6 && records[records.count - 2].content.isEmpty)
        #expect(records.last?.type == 3 && records.last?.content == [0, 0, 0, 0, 0, 0, 0, 0])
        #expect(records.dropLast(2).allSatisfy { !$0.content.isEmpty }, "no empty record before the end of the stream")
    }

    @Test func theSegmentsNeverCopyTheBody() {
        let layout = FastCGIRecords.layout(requestID: 1, headCount: 40, bodyCount: 150_000)
        let bodyRanges = layout.segments.compactMap { if case .body(let range) = $0 { range } else { nil } }
        #expect(bodyRanges == [0..<65_528, 65_528..<131_056, 131_056..<150_000])
        // Framing bytes that follow one another are one vector: head record, then each body record.
        #expect(layout.segments.count == 9) // header, head; header, body (x3); the closing records
    }

    /// A request as nginx writes it: BEGIN_REQUEST, PARAMS records, the empty PARAMS record, then STDIN.
    static func request(parameters: [UInt8], stdin: [UInt8]) -> [UInt8] {
        func record(_ type: UInt8, _ content: [UInt8], padding: Int = 0) -> [UInt8] {
            [1, type, 0, 1, UInt8(content.count >> 8), UInt8(content.count & 0xFF), UInt8(padding), 0]
                + content + [UInt8](repeating: 0, count: padding)
        }
        return record(1, [0, 1, 1, 0, 0, 0, 0, 0]) + record(4, parameters, padding: 3) + record(4, [])
            + record(5, stdin) + record(5, [])
    }

    @Test func aRequestHeadIsCompleteOnlyOnceItsEmptyParamsRecordHasArrived() {
        let parameters = Array("\u{0E}\u{03}REQUEST_METHODGET".utf8)
        let whole = Self.request(parameters: parameters, stdin: Array("{}".utf8))
        let headEnd = 16 + (8 + parameters.count + 3) + 8
        #expect(FastCGIRecords.requestHead(in: whole) == .complete)
        #expect(FastCGIRecords.requestHead(in: whole[..<headEnd]) == .complete, "the body may still be on its way")
        for cut in [0, 1, 7, 8, 15, 16, 23, 24 + parameters.count, headEnd - 8, headEnd - 1] {
            #expect(FastCGIRecords.requestHead(in: whole[..<cut]) == .incomplete, "cut at \(cut)")
        }
        #expect(FastCGIRecords.requestHead(in: [0xFF] + whole.dropFirst()) == .malformed)
        #expect(FastCGIRecords.requestHead(in: Array("GET / HTTP/1.1\r\n\r\n".utf8)) == .malformed)
        // A record's padding belongs to it: the head is not complete while padding is missing.
        #expect(FastCGIRecords.requestHead(in: whole[..<(16 + 8 + parameters.count + 2)]) == .incomplete)
    }

    @Test func aWholeRequestEndsWithItsEmptyStdinRecord() {
        let parameters = Array("\u{0E}\u{04}REQUEST_METHODPOST".utf8)
        let whole = Self.request(parameters: parameters, stdin: Array("{\"a\":1}".utf8))
        let headEnd = 16 + (8 + parameters.count + 3) + 8
        #expect(FastCGIRecords.wholeRequest(in: whole) == .complete)
        for cut in [headEnd, headEnd + 8, whole.count - 9, whole.count - 1] {
            #expect(FastCGIRecords.wholeRequest(in: whole[..<cut]) == .incomplete, "cut at \(cut)")
        }
        // Without a body, the empty STDIN record follows the head at once.
        let bare = Array(Self.request(parameters: parameters, stdin: []).dropLast(8))
        #expect(FastCGIRecords.wholeRequest(in: bare) == .complete)
        #expect(FastCGIRecords.wholeRequest(in: bare.dropLast()) == .incomplete)
        #expect(FastCGIRecords.wholeRequest(in: [0xFF] + whole.dropFirst()) == .malformed)
    }
}

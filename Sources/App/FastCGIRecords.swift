/// FastCGI framing of a whole response, so that the FastCGI edge hands it to the kernel in one
/// `writev`: STDOUT records carrying the CGI head and the body, the empty STDOUT record that ends
/// the stream, and END_REQUEST (FastCGI 1.0, sections 3.3, 5.3 and 5.5). The body is never
/// copied: the records point into the head and the (cached) body.
///
/// libfcgi's own stream writes a record per 8 KB of its buffer, and every write wakes nginx: for
/// the 30 to 100 KB chassis document that was four to thirteen wake-ups per request.
public enum FastCGIRecords {
    static let version: UInt8 = 1
    static let typeEndRequest: UInt8 = 3
    static let typeStdout: UInt8 = 6
    /// Content bytes per record: the largest multiple of 8 below the 16-bit length limit, so that
    /// only a record's last piece needs padding.
    public static let contentMax = 65_528
    static let zeros = [UInt8](repeating: 0, count: 8)

    /// One piece of the bytes to write: a range of the framing bytes, of the head or of the body.
    public enum Segment: Equatable {
        case framing(Range<Int>)
        case head(Range<Int>)
        case body(Range<Int>)
    }

    /// A response's layout: every framing byte (record headers, padding, the closing records) in
    /// one buffer, and the order in which its ranges and the head's and body's are written.
    public struct Layout {
        public var framing: [UInt8] = []
        public var segments: [Segment] = []
    }

    /// The records of one response, in order: the head in its own record, then the body in
    /// records of at most `contentMax` bytes, then the end of the stream and of the request.
    public static func layout(requestID: Int, headCount: Int, bodyCount: Int, appStatus: Int32 = 0) -> Layout {
        var layout = Layout()
        let records = 1 + (bodyCount + contentMax - 1) / contentMax
        layout.framing.reserveCapacity(records * 16 + 24)
        layout.segments.reserveCapacity(records * 3 + 1)
        func appendFraming(_ bytes: [UInt8]) {
            let start = layout.framing.count
            layout.framing += bytes
            if case .framing(let previous)? = layout.segments.last, previous.upperBound == start {
                layout.segments[layout.segments.count - 1] = .framing(previous.lowerBound..<layout.framing.count)
            } else {
                layout.segments.append(.framing(start..<layout.framing.count))
            }
        }
        func content(_ count: Int, _ piece: (Range<Int>) -> Segment) {
            var start = 0
            while start < count {
                let length = min(contentMax, count - start)
                let padding = (8 - length % 8) % 8
                appendFraming(header(type: typeStdout, requestID: requestID, contentLength: length, paddingLength: padding))
                layout.segments.append(piece(start..<(start + length)))
                if padding > 0 { appendFraming(Array(zeros.prefix(padding))) }
                start += length
            }
        }
        content(headCount) { .head($0) }
        content(bodyCount) { .body($0) }
        let status = UInt32(bitPattern: appStatus)
        appendFraming(header(type: typeStdout, requestID: requestID, contentLength: 0, paddingLength: 0)
            + header(type: typeEndRequest, requestID: requestID, contentLength: 8, paddingLength: 0)
            + [UInt8(status >> 24), UInt8(status >> 16 & 0xFF), UInt8(status >> 8 & 0xFF), UInt8(status & 0xFF), 0, 0, 0, 0])
        return layout
    }

    static func header(type: UInt8, requestID: Int, contentLength: Int, paddingLength: Int) -> [UInt8] {
        [version, type, UInt8(requestID >> 8 & 0xFF), UInt8(requestID & 0xFF),
         UInt8(contentLength >> 8), UInt8(contentLength & 0xFF), UInt8(paddingLength), 0]
    }
}

extension FastCGIRecords {
    static let typeParams: UInt8 = 4
    static let typeStdin: UInt8 = 5

    /// How much of a request's head (BEGIN_REQUEST and the PARAMS stream, up to its empty record)
    /// the bytes waiting on a connection hold.
    public enum RequestHead: Equatable {
        /// Every record up to the empty PARAMS record is there: reading the head will not block.
        case complete
        /// The head has begun to arrive and is not whole yet.
        case incomplete
        /// Not FastCGI 1.0 records: the FastCGI edge closes the connection.
        case malformed
    }

    /// Walks the records at the start of `bytes` (peeked, not consumed) without decoding them.
    public static func requestHead<Bytes: Collection>(in bytes: Bytes) -> RequestHead where Bytes.Element == UInt8 {
        walk(bytes, until: typeParams)
    }

    /// Like `requestHead`, through the body: complete once the empty STDIN record, which ends
    /// every request nginx sends (with a body or without), has arrived. Then serving the request
    /// reads nothing that is not already there.
    public static func wholeRequest<Bytes: Collection>(in bytes: Bytes) -> RequestHead where Bytes.Element == UInt8 {
        walk(bytes, until: typeStdin)
    }

    /// Complete at the first empty record of type `end`.
    private static func walk<Bytes: Collection>(_ bytes: Bytes, until end: UInt8) -> RequestHead where Bytes.Element == UInt8 {
        var cursor = bytes.startIndex
        while true {
            let available = bytes.distance(from: cursor, to: bytes.endIndex)
            guard available >= 8 else { return .incomplete }
            func byte(_ offset: Int) -> Int { Int(bytes[bytes.index(cursor, offsetBy: offset)]) }
            guard byte(0) == Int(version) else { return .malformed }
            let contentLength = byte(4) << 8 | byte(5)
            let recordLength = 8 + contentLength + byte(6)
            guard available >= recordLength else { return .incomplete }
            if byte(1) == Int(end) && contentLength == 0 { return .complete }
            cursor = bytes.index(cursor, offsetBy: recordLength)
        }
    }
}

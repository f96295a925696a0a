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

    /// One piece of the bytes to write: framing bytes, or a range of the head or of the body.
    public enum Segment: Equatable {
        case framing([UInt8])
        case head(Range<Int>)
        case body(Range<Int>)
    }

    /// The records of one response, in order: the head in its own record, then the body in
    /// records of at most `contentMax` bytes, then the end of the stream and of the request.
    public static func segments(requestID: Int, headCount: Int, bodyCount: Int, appStatus: Int32 = 0) -> [Segment] {
        var segments: [Segment] = []
        segments.reserveCapacity(6 + 2 * (bodyCount / contentMax + 1))
        func content(_ count: Int, _ piece: (Range<Int>) -> Segment, chunk: Int) {
            var start = 0
            while start < count {
                let length = min(chunk, count - start)
                let padding = (8 - length % 8) % 8
                segments.append(.framing(header(type: typeStdout, requestID: requestID, contentLength: length, paddingLength: padding)))
                segments.append(piece(start..<(start + length)))
                if padding > 0 { segments.append(.framing(Array(zeros.prefix(padding)))) }
                start += length
            }
        }
        content(headCount, { .head($0) }, chunk: contentMax)
        content(bodyCount, { .body($0) }, chunk: contentMax)
        let status = UInt32(bitPattern: appStatus)
        segments.append(.framing(header(type: typeStdout, requestID: requestID, contentLength: 0, paddingLength: 0)
            + header(type: typeEndRequest, requestID: requestID, contentLength: 8, paddingLength: 0)
            + [UInt8(status >> 24), UInt8(status >> 16 & 0xFF), UInt8(status >> 8 & 0xFF), UInt8(status & 0xFF), 0, 0, 0, 0]))
        return segments
    }

    /// The same records as one array of bytes (for tests and for writers without `writev`).
    public static func response(requestID: Int, head: [UInt8], body: [UInt8], appStatus: Int32 = 0) -> [UInt8] {
        var out: [UInt8] = []
        for segment in segments(requestID: requestID, headCount: head.count, bodyCount: body.count, appStatus: appStatus) {
            switch segment {
            case .framing(let bytes): out += bytes
            case .head(let range): out += head[range]
            case .body(let range): out += body[range]
            }
        }
        return out
    }

    static func header(type: UInt8, requestID: Int, contentLength: Int, paddingLength: Int) -> [UInt8] {
        [version, type, UInt8(requestID >> 8 & 0xFF), UInt8(requestID & 0xFF),
         UInt8(contentLength >> 8), UInt8(contentLength & 0xFF), UInt8(paddingLength), 0]
    }
}

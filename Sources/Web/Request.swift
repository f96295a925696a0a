/// One HTTP request as the web application sees it, independent of FastCGI.
public struct Request: Sendable, Equatable {
    /// Upper-case method: `GET`, `HEAD`, `POST` ...
    public var method: String
    /// The request target exactly as the client sent it (path and query, still percent-encoded).
    public var rawTarget: String
    /// Header fields by lower-cased name (`if-none-match`, `host`, `origin`, `content-type` ...).
    public var headers: [String: String]
    /// The length the client declared; the body is not read when it exceeds the limit.
    public var contentLength: Int?
    public var body: [UInt8]
    public var remoteAddress: String
    /// Whether the client reached nginx over HTTPS (nginx's `HTTPS` parameter).
    public var secure: Bool

    public init(method: String, target: String, headers: [String: String] = [:], body: [UInt8] = [],
                contentLength: Int? = nil, remoteAddress: String = "127.0.0.1", secure: Bool = false) {
        self.secure = secure
        self.method = method.uppercased()
        self.rawTarget = target
        var lowered: [String: String] = [:]
        for (name, value) in headers { lowered[name.lowercased()] = value }
        self.headers = lowered
        self.body = body
        self.contentLength = contentLength ?? (body.isEmpty ? nil : body.count)
        self.remoteAddress = remoteAddress
    }

    public func header(_ name: String) -> String? { headers[name.lowercased()] }

    /// The raw path, before the first `?`.
    public var rawPath: String {
        if let mark = rawTarget.firstIndex(of: "?") { return String(rawTarget[..<mark]) }
        return rawTarget
    }

    /// The raw query, after the first `?` (empty when there is none).
    public var rawQuery: String {
        if let mark = rawTarget.firstIndex(of: "?") { return String(rawTarget[rawTarget.index(after: mark)...]) }
        return ""
    }

    /// Builds a request from FastCGI/CGI parameters (`REQUEST_METHOD`, `REQUEST_URI`, `HTTP_*` ...).
    public static func fromCGI(parameters: [String: String], body: [UInt8]) -> Request {
        var headers: [String: String] = [:]
        for (name, value) in parameters where name.hasPrefix("HTTP_") {
            let field = String(name.dropFirst(5).lowercased().map { $0 == "_" ? "-" : $0 })
            headers[field] = value
        }
        if let type = parameters["CONTENT_TYPE"], !type.isEmpty { headers["content-type"] = type }
        // nginx's REQUEST_URI is the raw target; DOCUMENT_URI is already decoded and normalised.
        var target = parameters["REQUEST_URI"] ?? ""
        if target.isEmpty {
            target = parameters["SCRIPT_NAME"] ?? "/"
            if let query = parameters["QUERY_STRING"], !query.isEmpty { target += "?" + query }
        }
        return Request(method: parameters["REQUEST_METHOD"] ?? "GET", target: target, headers: headers, body: body,
                       contentLength: parameters["CONTENT_LENGTH"].flatMap { Int($0) },
                       remoteAddress: parameters["REMOTE_ADDR"] ?? "", secure: parameters["HTTPS"] == "on")
    }
}

/// Why a request target could not be understood.
public struct MalformedRequest: Error, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Strict percent-decoding and query parsing: a stray `%`, a bad hex digit or bytes that are not
/// UTF-8 are errors, never silently replaced.
public enum URLCoding {
    public static func percentDecode(_ text: Substring, plusIsSpace: Bool) throws -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                    throw MalformedRequest("bad percent-encoding in \"\(printable(text))\"")
                }
                bytes.append(high << 4 | low)
            case UInt8(ascii: "+") where plusIsSpace:
                bytes.append(UInt8(ascii: " "))
            default:
                bytes.append(byte)
            }
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw MalformedRequest("percent-encoded bytes are not UTF-8 in \"\(printable(text))\"")
        }
        if decoded.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw MalformedRequest("control characters in \"\(printable(text))\"")
        }
        return decoded
    }

    /// Parses `a=1&b=x%20y` into ordered pairs.
    public static func parseQuery(_ raw: String) throws -> [(name: String, value: String)] {
        guard !raw.isEmpty else { return [] }
        var pairs: [(name: String, value: String)] = []
        for part in raw.split(separator: "&", omittingEmptySubsequences: true) {
            let name: Substring
            let value: Substring
            if let equals = part.firstIndex(of: "=") {
                name = part[..<equals]
                value = part[part.index(after: equals)...]
            } else {
                name = part
                value = ""
            }
            pairs.append((try percentDecode(name, plusIsSpace: true), try percentDecode(value, plusIsSpace: true)))
        }
        return pairs
    }

    /// Percent-encodes everything but unreserved characters, for building URLs from data.
    public static func encodeComponent(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + hexByte(byte)
            }
        }
        return out
    }

    /// Keeps a raw target safe inside a header: any byte outside printable ASCII is percent-encoded,
    /// so a CR or LF can never split the header.
    public static func headerSafeTarget(_ raw: String) -> String {
        var out = ""
        for byte in raw.utf8 {
            if byte > 0x20 && byte < 0x7F {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "%" + hexByte(byte)
            }
        }
        return out
    }

    static func hexByte(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// A short, printable rendering of untrusted text for error messages.
    static func printable(_ text: Substring) -> String {
        let clipped = text.prefix(80)
        return String(String.UnicodeScalarView(clipped.unicodeScalars.map {
            ($0.value < 0x20 || $0.value == 0x7F) ? "?" : $0
        }))
    }
}

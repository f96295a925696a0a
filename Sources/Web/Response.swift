/// One HTTP response, independent of FastCGI.
public struct Response: Sendable, Equatable {
    public var status: Int
    /// Header fields in order; names as they are sent.
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func == (a: Response, b: Response) -> Bool {
        a.status == b.status && a.body == b.body && a.headers.elementsEqual(b.headers, by: { $0 == $1 })
    }

    /// The first value of a header, by case-insensitive name.
    public func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first(where: { $0.0.lowercased() == lowered })?.1
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    public mutating func setHeader(_ name: String, _ value: String) {
        let lowered = name.lowercased()
        headers.removeAll(where: { $0.0.lowercased() == lowered })
        headers.append((name, value))
    }

    /// The CGI response head for FastCGI: `Status: 302 Found` first (nginx passes the reason
    /// through intact; a bare `Location:` would become `302 Moved Temporarily`), then the fields.
    public func cgiHead() -> String {
        String(decoding: cgiHeadBytes(), as: UTF8.self)
    }

    /// The same head as bytes, built in one buffer (the FastCGI edge writes bytes).
    public func cgiHeadBytes() -> [UInt8] {
        var head: [UInt8] = []
        head.reserveCapacity(64 + headers.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count + 4 })
        head += "Status: \(status) \(Response.reasonPhrase(status))\r\n".utf8
        for (name, value) in headers {
            head += name.utf8
            head += [UInt8(ascii: ":"), UInt8(ascii: " ")]
            head += value.utf8
            head += [13, 10]
        }
        head += [13, 10]
        return head
    }

    public static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 201: return "Created"
        case 204: return "No Content"
        case 302: return "Found"
        case 303: return "See Other"
        case 304: return "Not Modified"
        case 307: return "Temporary Redirect"
        case 400: return "Bad Request"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 409: return "Conflict"
        case 413: return "Content Too Large"
        case 414: return "URI Too Long"
        case 415: return "Unsupported Media Type"
        case 500: return "Internal Server Error"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        default: return "Status \(status)"
        }
    }
}

/// Media types the application answers with.
public enum MediaType {
    public static let html = "text/html; charset=utf-8"
    public static let json = "application/json; charset=utf-8"
    public static let prometheus = "text/plain; version=0.0.4; charset=utf-8"
    public static let text = "text/plain; charset=utf-8"
}

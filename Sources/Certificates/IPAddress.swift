#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Conversions between an IP address's text and the bytes a certificate's subject alternative
/// name holds (4 bytes for IPv4, 16 for IPv6).
///
/// The conversions use the C library's `inet_pton` and `inet_ntop`, which only compute: they read
/// no file and no clock.
enum IPAddress {
    /// Returns the bytes of an IPv4 address in dotted decimal or of an IPv6 address in any of its
    /// text forms, or nil when the text is neither. A zone (`%eth0`) or brackets are refused.
    static func bytes(of text: String) -> [UInt8]? {
        if text.isEmpty || text.count > 45 { return nil }
        var v4 = in_addr()
        if text.withCString({ inet_pton(AF_INET, $0, &v4) }) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if text.withCString({ inet_pton(AF_INET6, $0, &v6) }) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }

    /// Returns the canonical text of 4 or 16 address bytes (dotted decimal for IPv4, RFC 5952's
    /// compressed form for IPv6), or nil for any other length.
    static func text<Bytes: Collection>(of bytes: Bytes) -> String? where Bytes.Element == UInt8 {
        let array = Array(bytes)
        switch array.count {
        case 4:
            return array.map { String($0) }.joined(separator: ".")
        case 16:
            var address = in6_addr()
            withUnsafeMutableBytes(of: &address) { raw in
                for (index, byte) in array.enumerated() { raw[index] = byte }
            }
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            let written = buffer.withUnsafeMutableBufferPointer { out -> Bool in
                guard let base = out.baseAddress else { return false }
                return inet_ntop(AF_INET6, &address, base, socklen_t(out.count)) != nil
            }
            guard written else { return nil }
            let end = buffer.firstIndex(of: 0) ?? buffer.count
            return String(decoding: buffer[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        default:
            return nil
        }
    }

    /// Returns the canonical text of an address given as text, or nil when it is no address.
    static func canonical(_ text: String) -> String? {
        bytes(of: text).flatMap { self.text(of: $0) }
    }
}

/// The one IPv4 parser of the project (configuration, control requests, access networks).
/// IPv4 addresses as numbers, so that "127.0.1.2" < "127.0.1.10".
public enum IPv4 {
    /// `ADDRESS` or `ADDRESS:PORT` (port 1 to 65535, else `defaultPort`); nil for anything else.
    public static func parseEndpoint(_ text: Substring, defaultPort: Int) -> (address: String, port: Int)? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2, parse(String(parts[0])) != nil else { return nil }
        guard let port = parts.count == 2 ? Int(parts[1]) : defaultPort, (1...65535).contains(port) else { return nil }
        return (String(parts[0]), port)
    }

    /// `ADDRESS/BITS` or a bare address (/32): the network's first address and its mask.
    public static func parseNetwork(_ text: String) -> (network: UInt32, mask: UInt32)? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = parse(String(parts[0])) else { return nil }
        var bits = 32
        if parts.count == 2 {
            guard parts[1].utf8.count <= 2, parts[1].utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let value = Int(parts[1]),
                  (0...32).contains(value) else { return nil }
            bits = value
        }
        let mask: UInt32 = bits == 0 ? 0 : ~UInt32(0) << UInt32(32 - bits)
        return (address & mask, mask)
    }

    /// Whether `address` lies in one of `networks` (as `parseNetwork` reads them).
    public static func contains(_ networks: [String], address: String) -> Bool {
        guard let value = parse(address) else { return false }
        return networks.contains { text in parseNetwork(text).map { value & $0.mask == $0.network } ?? false }
    }

    public static func parse(_ text: String) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            // ASCII digits only: Character.isNumber also takes "½" or "٣", which UInt32(_:) does not.
            guard !part.isEmpty, part.utf8.count <= 3, part.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  let byte = UInt32(part), byte <= 255 else { return nil }
            value = value << 8 | byte
        }
        return value
    }
}

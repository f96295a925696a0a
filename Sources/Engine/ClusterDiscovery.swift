#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import ChassisKeys
import Config
import Model
import Plumbing
import Store

/// How a blade joining by naming one member (`[cluster] join_via`) learns the others: it reads
/// that blade's `GET /api/v1/cluster` over plain HTTP on the management network, showing a
/// `Chassis-Member` credential made from the cluster key (every blade answers it from its own
/// view, without redirecting). What it learns is only where to reach the members; every peer
/// frame is still authenticated with the cluster key, so a forged answer can at most keep this
/// blade from joining.
enum ClusterDiscovery {
    static let timeoutMs = 2_000
    static let responseBytesMax = 1 << 20
    static let redirectsMax = 2

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The cluster view served by the member at `address:port`.
    static func fetch(address: String, port: Int, clusterKey: [UInt8]) throws -> ClusterView {
        var host = address
        var hostPort = port
        let webKey = WebKeyFile.webKey(clusterKey)
        for _ in 0...redirectsMax {
            let credential = MemberCredential.make(webKey: webKey, seconds: Int64(HostClock.system.wallSeconds()))
            let reply = try HTTPGet.get(host: host, port: hostPort, path: "/api/v1/cluster",
                                        headers: [("Accept", "application/json"),
                                                  ("Authorization", MemberCredential.scheme + " " + credential)],
                                        timeoutMs: timeoutMs, responseBytesMax: responseBytesMax)
            let (status, headers) = (reply.status, reply.headers)
            if status == 200 {
                return try JSONDecoder().decode(ClusterView.self, from: Data(reply.body))
            }
            guard status == 302 || status == 307, let location = headers["location"],
                  let target = parseHTTPURL(location) else {
                throw Failure(description: "\(host):\(hostPort) answered \(status)")
            }
            (host, hostPort) = target
        }
        throw Failure(description: "more than \(redirectsMax) redirects from \(address):\(port)")
    }

    /// `http://IPv4[:port]/…` → address and port; anything else is refused.
    static func parseHTTPURL(_ text: String) -> (address: String, port: Int)? {
        guard text.hasPrefix("http://") else { return nil }
        return IPv4.parseEndpoint(text.dropFirst(7).prefix { $0 != "/" }, defaultPort: 80)
    }
}

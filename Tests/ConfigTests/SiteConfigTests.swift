import Config
import Testing

/// `[site]` and `[[site_chassis]]`: the other chassis of a site.
@Suite struct SiteConfigTests {
    static let site = """
    [chassis]
    id = "660007770088"
    site = "Frankfurt"

    [site]
    key_file = "/etc/chassis/site.key"
    poll_seconds = 1.5

    [[site_chassis]]
    name = "row-b"
    addresses = ["10.1.2.11", "10.1.2.12"]

    [[site_chassis]]
    name = "row-c"
    addresses = ["10.1.3.10"]
    port = 8080
    https_port = 8443

    """

    static func problem(_ text: String) -> ConfigError? {
        do {
            _ = try BladeConfig.parse(text, file: "blade.toml")
            return nil
        } catch let error as ConfigError {
            return error
        } catch {
            return nil
        }
    }

    @Test func parsesTheOtherChassisOfTheSite() throws {
        let config = try BladeConfig.parse(Self.site, file: "blade.toml")
        #expect(config.site.keyFile == "/etc/chassis/site.key" && config.site.pollSeconds == 1.5 && config.site.timeoutMs == 1_000)
        #expect(config.site.chassis == [
            BladeConfig.SiteChassis(name: "row-b", addresses: ["10.1.2.11", "10.1.2.12"], port: 80, httpsPort: 443),
            BladeConfig.SiteChassis(name: "row-c", addresses: ["10.1.3.10"], port: 8080, httpsPort: 8443),
        ])
        #expect(config.site.chassis[0].origin(address: "10.1.2.11") == "https://10.1.2.11")
        #expect(config.site.chassis[1].origin(address: "10.1.3.10") == "https://10.1.3.10:8443")
        #expect(config.paths.siteKey == config.paths.runtimeDir + "/site.key")
        // No site: nothing listed, no key needed.
        #expect(try BladeConfig.parse("", file: "blade.toml").site.chassis.isEmpty)
    }

    @Test func aBrokenSiteIsRefusedWithItsLine() {
        let noKey = Self.site.replacingOccurrences(of: "key_file = \"/etc/chassis/site.key\"\n", with: "")
        #expect(Self.problem(noKey)?.message.contains("need [site] key_file") == true)
        #expect(Self.problem(noKey)?.line == 5)
        let twice = Self.site.replacingOccurrences(of: "name = \"row-c\"", with: "name = \"row-b\"")
        #expect(Self.problem(twice)?.message == "site chassis 'row-b' is listed twice")
        #expect(Self.problem(twice)?.line == 13)
        let named = Self.site.replacingOccurrences(of: "\"10.1.3.10\"", with: "\"row-c.example\"")
        #expect(Self.problem(named)?.message.contains("is not an IPv4 address") == true)
        #expect(Self.problem(named)?.line == 15)
        let empty = Self.site.replacingOccurrences(of: "addresses = [\"10.1.3.10\"]", with: "addresses = []")
        #expect(Self.problem(empty)?.message == "[[site_chassis]] 'row-c' needs 'addresses'")
        let dotted = Self.site.replacingOccurrences(of: "id = \"660007770088\"", with: "id = \"dc1.row-a\"")
        #expect(Self.problem(dotted)?.message == "a chassis of a site needs an id without '.'")
        #expect(Self.problem(dotted)?.line == 2)
        #expect(Self.problem(Self.site + "[[site_chassis]]\nname = \"row-d\"\naddresses = [\"10.1.4.1\"]\ncolour = \"red\"\n")?
            .message.hasPrefix("unknown setting 'colour' in [[site_chassis]]") == true)
        #expect(Self.problem(Self.site.replacingOccurrences(of: "poll_seconds = 1.5", with: "poll_seconds = 0"))?
            .message.contains("between 0.5 and 300") == true)
        let many = (0...64).map { "[[site_chassis]]\nname = \"c\($0)\"\naddresses = [\"10.2.0.\($0 + 1)\"]\n" }.joined()
        #expect(Self.problem("[site]\nkey_file = \"/k\"\n" + many)?.message == "a site lists at most 64 other chassis")
    }
}

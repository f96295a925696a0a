import Config
import Foundation
import Model
import Testing

@Suite struct BladeConfigTests {
    static let example = """
    # comment
    [blade]
    name = "blade2"
    address = "127.0.1.2"   # trailing comment
    slot = 2

    [chassis]
    id = "660007770088"
    name = "Rack \\"A\\" chassis"
    slots = 8

    [paths]
    state_dir = '/var/lib/x'
    runtime_dir = "/run/x"

    [web]
    threads = 1_6
    stale_after_seconds = 2.5

    [sampling]
    cpu_ms = 500

    [cluster]
    key_file = "/etc/chassis/cluster.key"

    [[member]]
    name = "blade1"
    address = "127.0.1.1"
    priority = 10

    [[member]]
    name = "blade2"
    address = "127.0.1.2"
    slot = 2

    [[member]]
    name = "witness"
    address = "127.0.1.9"
    witness = true
    """

    @Test func parsesEveryKindOfSetting() throws {
        let config = try BladeConfig.parse(Self.example, file: "blade.toml")
        #expect(config.cluster.keyFile == "/etc/chassis/cluster.key")
        #expect(config.blade.name == "blade2")
        #expect(config.blade.address == "127.0.1.2")
        #expect(config.blade.slot == 2)
        #expect(config.chassis.name == "Rack \"A\" chassis")
        #expect(config.chassis.slots == 8)
        #expect(config.paths.configDatabase == "/var/lib/x/config.db")
        #expect(config.paths.metricsDatabase == "/run/x/metrics.db")
        #expect(config.web.threads == 16)
        #expect(config.web.staleAfterSeconds == 2.5)
        #expect(config.intervalsMs[.cpu] == 500)
        #expect(config.intervalsMs[.sensors] == 2_000)
        #expect(config.members.map(\.name) == ["blade1", "blade2", "witness"])
        #expect(config.members[0].priority == 10)
        #expect(config.members[2].witness)
        #expect(config.members[0].port == 7400)
    }

    /// Found by fuzzing: a file with CRLF line ends was one line ("\r\n" is one Character).
    @Test func crlfLineEndsParseLikeLF() throws {
        let crlf = Self.example.replacingOccurrences(of: "\n", with: "\r\n")
        #expect(try BladeConfig.parse(crlf, file: "blade.toml") == BladeConfig.parse(Self.example, file: "blade.toml"))
        #expect(try TOMLParser.parse("a = 1\r\nb = 2\r\n") == TOMLParser.parse("a = 1\nb = 2\n"))
        #expect(throws: (any Error).self) { try TOMLParser.parse("[blade]\r\nname = \r\n") }
    }

    @Test func theExampleFileInTheRepositoryParses() throws {
        let path = #filePath.split(separator: "/").dropLast(3).joined(separator: "/")
        let config = try BladeConfig.load(path: "/" + path + "/config/blade.example.toml")
        #expect(config.blade.address == "127.0.1.1")
        #expect(config.chassis.id == "660007770088")
    }

    /// A broken file names the file, the line and the problem.
    @Test(arguments: [
        ("[blade]\nslot = 99\n", 2, "between 0 and 64"),
        ("[blade]\naddress = \"127.0.1\"\n", 2, "not an IPv4 address"),
        ("[blade]\nname = \"x\"\nname = \"y\"\n", 3, "set twice"),
        ("[blade]\nslot = \"one\"\n", 2, "must be an integer"),
        ("[bladez]\n", 1, "unknown section [bladez]"),
        ("[blade]\ncolour = 1\n", 2, "unknown setting 'colour'"),
        ("[blade]\nname = \"unterminated\n", 2, "unterminated string"),
        ("[blade]\nname = bare\n", 2, "strings need quotes"),
        ("name = \"x\"\n", 1, "inside a [section]"),
        ("[web]\nthreads = 0\n", 2, "between 1 and 256"),
        ("[sampling]\ncpu_ms = 5\n", 2, "between 100"),
        ("[blade]\nslot = 9\n[chassis]\nslots = 4\n", 2, "beyond the chassis"),
        ("[[member]]\nname = \"a\"\n", 1, "needs 'address'"),
        ("[[member]]\nname = \"a\"\naddress = \"127.0.1.1\"\n[[member]]\nname = \"a\"\naddress = \"127.0.1.2\"\n", 4, "listed twice"),
        ("[blade]\nname = \"b9\"\n[[member]]\nname = \"a\"\naddress = \"127.0.1.1\"\n", 3, "not in the [[member]] list"),
        ("[blade]\nname = \"a\"\n[[member]]\nname = \"a\"\naddress = \"127.0.1.1\"\n[[member]]\nname = \"b\"\naddress = \"127.0.1.2\"\n", 3, "needs [cluster] key_file"),
        ("[blade]\nname = \"a\" extra\n", 2, "unexpected text"),
        ("[blade]\nname = \"bad\\q\"\n", 2, "unknown escape"),
        ("[blade\n", 1, "expected ']'"),
        ("[blade]\n[blade]\n", 2, "defined twice"),
        ("[web]\nports = [1, 2\n", 2, "unterminated array"),
        ("[cluster]\njoin_via = \"blade2\"\nkey_file = \"/k\"\n", 2, "must be a member's address and web port"),
        ("[cluster]\njoin_via = \"127.0.1.2:0\"\nkey_file = \"/k\"\n", 2, "must be a member's address and web port"),
        ("[cluster]\n\njoin_via = \"127.0.1.2:8080\"\n", 3, "needs [cluster] key_file"),
        ("[access]\nnames = [\"evil..example\"]\n", 2, "must be a DNS name"),
        ("[access]\nnames = \"chassis.example\"\n", 2, "must be an array of strings"),
        ("[access]\nnames = [1]\n", 2, "must hold strings only"),
        ("[access]\nmetrics_anonymous_networks = [\"10.0.0.0/33\"]\n", 2, "not a network"),
        ("[access]\nmetrics_anonymous_networks = [\"10.0.0/8\"]\n", 2, "not a network"),
        ("[access]\nhttps_port = 70000\n", 2, "between 0 and 65535"),
        ("[access]\nsession_idle_seconds = 5\n", 2, "between 60"),
        ("[access]\ncertificate_file = \"/etc/c.pem\"\n", 2, "go together"),
        ("[hardware]\nfilesystems_exclude = [\"relative/path\"]\n", 2, "filesystems_exclude"),
    ])
    func brokenFilesNameTheLine(text: String, line: Int, fragment: String) {
        do {
            _ = try BladeConfig.parse(text, file: "/etc/chassis/blade.toml")
            Issue.record("expected an error for \(text)")
        } catch let error as ConfigError {
            #expect(error.line == line, "\(error)")
            #expect(error.description.hasPrefix("/etc/chassis/blade.toml:\(line): "), "\(error)")
            #expect(error.description.contains(fragment), "\(error)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func theFilesystemListsAreRead() throws {
        let config = try BladeConfig.parse("[hardware]\nfilesystems_include = [\"/\", \"/srv\"]\nfilesystems_exclude = [\"/srv/scratch\"]\n",
                                           file: "blade.toml")
        #expect(config.hardware.filesystemsInclude == ["/", "/srv"])
        #expect(config.hardware.filesystemsExclude == ["/srv/scratch"])
        #expect(try BladeConfig.parse("", file: "blade.toml").hardware.filesystemsInclude.isEmpty)
    }

    @Test func thePowerCommandsAreCheckedAndRenderedQuoted() throws {
        let config = try BladeConfig.parse("""
            [chassis]
            power_command = "ipmitool -H {address} chassis power {action}"
            identify_command = "midplane-led {slot} {action}"
            power_timeout_seconds = 20
            """, file: "blade.toml")
        let power = try #require(config.chassis.powerCommand)
        #expect(power.render(["address": "10.0.0.3", "action": "cycle"]) == "ipmitool -H '10.0.0.3' chassis power 'cycle'")
        #expect(config.chassis.identifyCommand?.render(["slot": "3", "action": "on"]) == "midplane-led '3' 'on'")
        #expect(config.chassis.powerTimeoutSeconds == 20)
        #expect(try BladeConfig.parse("", file: "blade.toml").chassis.powerCommand == nil, "no power control unless configured")
        // A value is one word of the shell whatever it holds.
        #expect(power.render(["address": "x'; rm -rf / #", "action": "on"]) == #"ipmitool -H 'x'\''; rm -rf / #' chassis power 'on'"#)
        do {
            _ = try BladeConfig.parse("[chassis]\npower_command = \"tool {slott}\"\n", file: "blade.toml")
            Issue.record("an unknown placeholder was taken")
        } catch let error as ConfigError {
            #expect(error.line == 2 && error.message.contains("unknown placeholder {slott}"))
        }
        #expect(throws: ConfigError.self) { try BladeConfig.parse("[chassis]\npower_timeout_seconds = 0\n", file: "blade.toml") }
        // Braces that are not a placeholder (shell syntax) are left alone.
        #expect(try CommandTemplate("f() { echo {slot}; }; f", placeholders: CommandTemplate.slotPlaceholders)
            .render(["slot": "2"]) == "f() { echo '2'; }; f")
    }

    @Test func theAccessSectionIsRead() throws {
        let config = try BladeConfig.parse("""
            [access]
            https_port = 8443
            names = ["Chassis.Example.net", "192.0.2.10"]
            metrics_anonymous_networks = ["10.0.0.0/8", "192.0.2.7"]
            session_idle_seconds = 600
            reload_command = "systemctl reload nginx"
            """, file: "blade.toml")
        #expect(config.access.httpsPort == 8443)
        #expect(config.access.names == ["Chassis.Example.net", "192.0.2.10"])
        #expect(config.access.sessionIdleSeconds == 600)
        #expect(config.access.reloadCommand == "systemctl reload nginx")
        #expect(config.publicURL(address: "127.0.1.2") == "https://127.0.1.2:8443")
        #expect(IPv4.contains(config.access.metricsAnonymousNetworks, address: "10.200.3.4"))
        #expect(IPv4.contains(config.access.metricsAnonymousNetworks, address: "192.0.2.7"))
        #expect(!IPv4.contains(config.access.metricsAnonymousNetworks, address: "192.0.2.8"))
        #expect(!IPv4.contains(config.access.metricsAnonymousNetworks, address: "11.0.0.1"))
        #expect(!IPv4.contains(config.access.metricsAnonymousNetworks, address: "not an address"))
        var plain = config
        plain.access.httpsPort = 0
        plain.web.port = 80
        #expect(plain.publicURL(address: "127.0.1.2") == "http://127.0.1.2")
        plain.access.httpsPort = 443
        #expect(plain.publicURL(address: "127.0.1.2") == "https://127.0.1.2")
    }

    @Test func aMissingFileIsNamed() {
        #expect(throws: ConfigError(file: "/nonexistent/blade.toml", line: 0, message: "cannot read the file")) {
            try BladeConfig.load(path: "/nonexistent/blade.toml")
        }
    }

    @Test func hostileBytesNeverCrashTheParser() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("[]=\"'#.\n\\ ab1_-,tf".utf8) + [0xFF, 0x00, 0xC3]
        for _ in 0..<2_000 {
            let bytes = (0..<Int.random(in: 0...80, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }
            _ = try? BladeConfig.parse(String(decoding: bytes, as: UTF8.self), file: "fuzz")
        }
    }

    @Test(arguments: [("127.0.1.2", "127.0.1.10"), ("9.255.255.255", "10.0.0.0"), ("127.0.0.1", "127.0.1.1")])
    func addressesCompareNumerically(lower: String, higher: String) throws {
        #expect(try #require(IPv4.parse(lower)) < (try #require(IPv4.parse(higher))))
    }

    @Test(arguments: ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "a.b.c.d", "1..2.3", "01234.1.1.1"])
    func badAddressesAreRejected(text: String) {
        #expect(IPv4.parse(text) == nil)
    }

    @Test func aJoiningBladeLearnsTheMembersFromOneOfThem() throws {
        let text = """
        [blade]
        name = "blade4"
        address = "127.0.1.4"
        slot = 4
        [web]
        port = 18080
        [cluster]
        join_via = "127.0.1.2"
        key_file = "/etc/chassis/cluster.key"
        [[member]]
        name = "blade4"
        address = "127.0.1.4"
        slot = 4
        port = 7500
        """
        let config = try BladeConfig.parse(text, file: "blade.toml")
        #expect(config.cluster.join, "join_via implies join")
        #expect(config.cluster.joinVia?.address == "127.0.1.2" && config.cluster.joinVia?.port == 18080, "the port defaults to the web port")
        let view = ClusterView(term: 3, active: nil, quorum: true, reason: nil, members: [
            ClusterMember(name: "blade1", address: "127.0.1.1", url: "http://127.0.1.1:18080", slotID: 1, role: .active,
                          lastHeardAt: nil, memberID: 1, peerPort: 7500),
            ClusterMember(name: "witness", address: "127.0.9.9", url: "", slotID: nil, role: .witness, lastHeardAt: nil,
                          memberID: 102, peerPort: 7501),
            ClusterMember(name: "old", address: "127.0.1.3", url: "", slotID: 3, role: .down, lastHeardAt: nil,
                          memberID: 3, peerPort: nil),
            ClusterMember(name: "bad name!", address: "127.0.1.5", url: "", slotID: 5, role: .standby, lastHeardAt: nil,
                          memberID: 5, peerPort: 7500),
            ClusterMember(name: "blade4", address: "127.0.1.4", url: "", slotID: 4, role: .standby, lastHeardAt: nil,
                          memberID: 4, peerPort: 9999),
        ])
        let joined = config.joining(view)
        #expect(joined.members.map(\.name) == ["blade4", "blade1", "witness"],
                "itself as its file says, then every member it can reach; a member without a peer port or a bad name is left out")
        #expect(joined.members.first?.port == 7500)
        let witness = try #require(joined.members.first { $0.name == "witness" })
        #expect(witness.witness && witness.id == 102 && witness.port == 7501 && witness.slot == nil)
        #expect(joined.members.first { $0.name == "blade1" }?.id == 1)
    }
}

@Suite struct SNMPConfigTests {
    @Test func defaultsAreOff() throws {
        let config = try BladeConfig.parse("[paths]\nruntime_dir = \"/run/x\"\n", file: "b.toml")
        #expect(config.snmp.enabled == false)
        #expect(config.snmp.agentxSocket == "/run/x/agentx.sock")
        #expect(config.snmp.v2cCommunityFile == "")
    }

    @Test func parsesTheSection() throws {
        let config = try BladeConfig.parse("""
            [snmp]
            enabled = true
            agentx_socket = "/var/agentx/master"
            refresh_ms = 500
            agent_address = "udp:10.0.0.11:161"
            v2c_community_file = "/etc/chassis/community"
            inform_sinks = ["10.0.0.5:162", "10.0.0.6"]
            """, file: "b.toml")
        #expect(config.snmp.enabled)
        #expect(config.snmp.agentxSocket == "/var/agentx/master")
        #expect(config.snmp.refreshMs == 500)
        #expect(config.snmp.agentAddress == "udp:10.0.0.11:161")
        #expect(config.snmp.informSinks == ["10.0.0.5:162", "10.0.0.6"])
    }

    @Test(arguments: [
        ("[snmp]\nenabled = \"yes\"\n", 2, "enabled"),
        ("[snmp]\n\nrefresh_ms = 5\n", 3, "refresh_ms"),
        ("[snmp]\nagent_address = \"10.0.0.1:161\"\n", 2, "udp:ADDRESS:PORT"),
        ("[snmp]\nagent_address = \"udp:10.0.0.1:99999\"\n", 2, "udp:ADDRESS:PORT"),
        ("[snmp]\ninform_sinks = [\"nowhere\"]\n", 2, "inform_sinks"),
        ("[snmp]\ncommunity = \"public\"\n", 2, "community"),
        ("[snmp]\nagentx_socket = \"relative\"\n", 2, "agentx_socket"),
    ])
    func errorsNameFileAndLine(_ text: String, _ line: Int, _ mentions: String) {
        do {
            _ = try BladeConfig.parse(text, file: "blade.toml")
            Issue.record("accepted \(text)")
        } catch let error as ConfigError {
            #expect(error.file == "blade.toml")
            #expect(error.line == line, "\(error)")
            #expect(error.description.contains(mentions), "\(error)")
        } catch {
            Issue.record("\(error)")
        }
    }
}

import Config
import Foundation
import ArgumentParser

/// nginx's configuration for one blade, from the product's template (`nginx/blade.conf.template`)
/// and the blade's configuration: the same template the demo and the tests run, so what a blade
/// serves is what was tested.
enum NginxTemplate {
    static func render(_ template: String, values: [String: String]) -> String {
        var text = template
        for (name, value) in values {
            text = text.replacingOccurrences(of: "{{\(name)}}", with: value)
        }
        return text
    }

    /// The template's values for a blade. `serverNames` are the names its nginx answers to: by
    /// default the chassis' names and every member's address (a witness serves no web).
    static func values(config: BladeConfig, prefix: String, caCertificate: String? = nil,
                       serverNames: [String]? = nil) -> [String: String] {
        let names = serverNames ?? (config.access.names + [config.blade.address]
                                    + config.members.filter { !$0.witness }.map(\.address))
        var unique: [String] = []
        for name in names where !unique.contains(name) { unique.append(name) }
        return [
            "prefix": prefix,
            "listen": "\(config.blade.address):\(config.web.port)",
            "tls_listen": "\(config.blade.address):\(config.access.httpsPort)",
            "tls_port": String(config.access.httpsPort),
            "server_names": unique.joined(separator: " "),
            "certificate": config.access.certificateFile ?? config.paths.certificate,
            "certificate_key": config.access.certificateKeyFile ?? config.paths.certificateKey,
            "ca_certificate": caCertificate ?? config.paths.certificateAuthority,
            "public_root": config.web.publicDir,
            "fastcgi_socket": config.paths.webSocket,
            "mime_types": "/etc/nginx/mime.types",
        ]
    }

    /// Renders the template into `prefix/nginx.conf` and makes the directories nginx keeps there.
    static func write(templatePath: String, values: [String: String], prefix: String) throws {
        guard let template = try? String(contentsOfFile: templatePath, encoding: .utf8) else {
            throw ValidationError("cannot read the nginx template \(templatePath)")
        }
        // nginx makes its temporary directories itself, owned by its workers' user.
        try FileManager.default.createDirectory(atPath: prefix, withIntermediateDirectories: true)
        let rendered = render(template, values: values)
        if let unreplaced = rendered.range(of: #"\{\{[a-z_]+\}\}"#, options: .regularExpression) {
            throw ValidationError("the template has a value this blade does not give: \(rendered[unreplaced])")
        }
        try rendered.write(toFile: prefix + "/nginx.conf", atomically: true, encoding: .utf8)
    }
}

/// `chassisctl nginx-config`: what `chassis-nginx.service` runs before nginx starts or reloads.
struct NginxConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nginx-config",
        abstract: "Write nginx's configuration for this blade from the product's template.",
        discussion: """
        Renders the template with this blade's address, ports, names, certificate and FastCGI \
        socket into PREFIX/nginx.conf. chassis-nginx.service runs it before nginx starts and \
        reloads, then `nginx -p PREFIX -c PREFIX/nginx.conf`.

        Example: chassisctl nginx-config --prefix /run/chassis/nginx
        """)

    @OptionGroup var target: BladeOptions

    @Option(help: "nginx's prefix: nginx.conf, the pid file, the error log and temporary files go here.")
    var prefix: String = "/run/chassis/nginx"

    @Option(help: "The template (installed in PREFIX/share/chassis/nginx).")
    var template: String = NginxConfigCommand.installedTemplate

    static var installedTemplate: String {
        // Beside the installed binary: PREFIX/bin/chassisctl -> PREFIX/share/chassis/nginx.
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        return binary.deletingLastPathComponent().deletingLastPathComponent().path + "/share/chassis/nginx/blade.conf.template"
    }

    func run() throws {
        let config = try target.load()
        // nginx's workers serve /ca.crt but may not enter the state directory: a copy of the
        // authority's certificate beside the configuration, renewed at every reload.
        let authority = prefix + "/ca.crt"
        try FileManager.default.createDirectory(atPath: prefix, withIntermediateDirectories: true)
        if let bytes = FileManager.default.contents(atPath: config.paths.certificateAuthority) {
            try Data(bytes).write(to: URL(fileURLWithPath: authority), options: .atomic)
            chmod(authority, 0o644)
        }
        try NginxTemplate.write(templatePath: template,
                                values: NginxTemplate.values(config: config, prefix: prefix, caCertificate: authority),
                                prefix: prefix)
        print("\(prefix)/nginx.conf written")
    }
}

import Foundation
import Mustache

/// The Mustache templates of `Templates/`, loaded once at start.
///
/// Pages inherit `layout` (`{{<layout}}{{$main}}…{{/main}}{{/layout}}`); partials live beside them
/// (`banner.mustache`, `metric_row.mustache` …). Every variable is written `{{name}}`, which
/// escapes `< > & " '`; the templates use no triple mustache.
public struct TemplateSet: Sendable {
    public static let required = ["layout", "overview", "module", "error", "unavailable", "banner"]

    let library: MustacheLibrary

    public init(library: MustacheLibrary) throws {
        for name in Self.required where library.getTemplate(named: name) == nil {
            throw TemplateError("missing template \(name).mustache")
        }
        self.library = library
    }

    /// Loads every `*.mustache` file of a directory (not recursive).
    public static func load(directory: String) throws -> TemplateSet {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw TemplateError("\(directory): cannot list the templates directory")
        }
        var templates: [String: MustacheTemplate] = [:]
        for file in names.sorted() where file.hasSuffix(".mustache") {
            let path = directory + (directory.hasSuffix("/") ? "" : "/") + file
            guard let data = FileManager.default.contents(atPath: path),
                  let text = String(data: data, encoding: .utf8) else {
                throw TemplateError("\(path): cannot read the template as UTF-8")
            }
            do {
                templates[String(file.dropLast(".mustache".count))] = try MustacheTemplate(string: text)
            } catch {
                throw TemplateError("\(path): \(error)")
            }
        }
        return try TemplateSet(library: MustacheLibrary(templates: templates))
    }

    func render(_ object: Any, template name: String) -> String? {
        library.render(object, withTemplate: name)
    }
}

public struct TemplateError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

// A stand-in for the web application's class, for the http fuzz target only: the few members of
// `WebApp` (Sources/Web/WebApp.swift, which needs Store, templates and the engine's socket) that
// the files it compiles name. With it, these compile unchanged:
// - Sources/Web/Exchange+Query.swift: the query parameters of the log pages (`single`, `time`,
//   `limit`, `link`) over `Exchange.query`, errors as `HTTPError`;
// - Sources/Web/WebApp+RequestFields.swift: `Host`, `Cookie` and `Authorization` headers, the
//   `next` and `return` paths;
// - Sources/Web/Router.swift: the route's query names (not read by the fuzz entry).
// `Exchange.values` and `HTTPError` are declared as in WebApp.swift; keep them so.
public final class WebApp {
    struct Exchange {
        var query: [(name: String, value: String)]

        func values(_ name: String) -> [String] { query.filter { $0.name == name }.map(\.value) }
    }

    struct HTTPError: Error {
        var status: Int
        var message: String
        init(_ status: Int, _ message: String) {
            self.status = status
            self.message = message
        }
    }

    /// Declared by WebApp+AlertLog.swift and WebApp+EventLog.swift; Router.swift names them.
    static let alertLogQueryNames: Set<String> = []
    static let eventLogQueryNames: Set<String> = []
}

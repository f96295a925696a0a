/// Every limit of the web application, in one place, so their relations can be checked.
public struct WebLimits: Sendable, Equatable {
    /// A request body longer than this is refused with 413 before it is read.
    public var requestBodyBytesMax: Int
    /// A raw request URI longer than this is refused with 414.
    public var requestURIBytesMax: Int
    /// At most this many `key` parameters in one history request.
    public var historyKeysMax: Int
    /// At most this far into the past for a history request.
    public var historySecondsMax: Double
    /// History requested without `seconds` covers this much.
    public var historySecondsDefault: Double
    /// Names (slot names, module type fields, acknowledger) longer than this are refused.
    public var nameBytesMax: Int
    /// Metric keys longer than this are refused.
    public var metricKeyBytesMax: Int
    /// The banner lists at most this many rows, one a place (a slot's several alerts are one
    /// group); the alerts of the other places are counted.
    public var bannerRowsMax: Int
    /// A group of the banner lists at most this many alerts once opened; the rest are counted.
    public var bannerGroupAlertsMax: Int
    /// The module page draws at most this many charts, each with at most `chartSeriesMax` series.
    public var chartsMax: Int
    public var chartSeriesMax: Int
    /// A snapshot whose engine heartbeat is older than this is shown as stale.
    public var staleAfterSeconds: Double

    public init(requestBodyBytesMax: Int = 64 * 1024, requestURIBytesMax: Int = 8 * 1024,
                historyKeysMax: Int = 16, historySecondsMax: Double = 7 * 86_400,
                historySecondsDefault: Double = 3_600, nameBytesMax: Int = 128,
                metricKeyBytesMax: Int = 256, bannerRowsMax: Int = 5, bannerGroupAlertsMax: Int = 10,
                chartsMax: Int = 16, chartSeriesMax: Int = 8, staleAfterSeconds: Double = 10) {
        precondition(requestBodyBytesMax > 0 && requestURIBytesMax > 0)
        precondition(historySecondsDefault > 0 && historySecondsDefault <= historySecondsMax)
        precondition(historyKeysMax > 0 && chartSeriesMax > 0 && chartsMax > 0)
        precondition(bannerRowsMax > 0 && bannerGroupAlertsMax > 1)
        self.requestBodyBytesMax = requestBodyBytesMax
        self.requestURIBytesMax = requestURIBytesMax
        self.historyKeysMax = historyKeysMax
        self.historySecondsMax = historySecondsMax
        self.historySecondsDefault = historySecondsDefault
        self.nameBytesMax = nameBytesMax
        self.metricKeyBytesMax = metricKeyBytesMax
        self.bannerRowsMax = bannerRowsMax
        self.bannerGroupAlertsMax = bannerGroupAlertsMax
        self.chartsMax = chartsMax
        self.chartSeriesMax = chartSeriesMax
        self.staleAfterSeconds = staleAfterSeconds
    }
}

import Model
import Testing

/// Found by schemathesis: a maintenance window starting at 1.13e20 s passed validation, and its
/// event's `Format.time` trapped converting it to Int64, in the engine applying a committed
/// command (so again after every restart, on every blade).
@Suite struct FormatTests {
    @Test(arguments: [1.1299389362678233e+20, -1e19, 9.3e18, Double.greatestFiniteMagnitude, -Double.greatestFiniteMagnitude])
    func timesBeyondAnyCalendarAreShownNotTrapped(value: Double) {
        #expect(Format.time(value) == "—")
        #expect(Format.isoTime(value) == "")
    }

    @Test func timesInTheCalendarAreShown() {
        #expect(Format.time(0) == "1970-01-01 00:00:00 UTC")
        #expect(Format.time(253_402_300_799) == "9999-12-31 23:59:59 UTC")
        #expect(Format.time(-62_135_596_800) == "1-01-01 00:00:00 UTC")
    }

    /// A value too large for fixed point in any unit (a broken sensor's reading) is shown as a
    /// number: `fixed` and `trimmed` called each other for it until the stack overflowed.
    @Test(arguments: [1e300, -1e300, 9.3e18, 3e13, 1e16])
    func hugeValuesAreShownNotTrapped(value: Double) {
        for unit in ["seconds", "celsius", "count", "", "volts", "percent", "bytes"] {
            #expect(!Format.value(value, text: nil, fault: nil, unit: unit).isEmpty)
        }
        #expect(Format.fixed(1e300, 1) == "1e+300")
    }
}

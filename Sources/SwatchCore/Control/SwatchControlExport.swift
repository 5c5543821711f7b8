// The control protocol, the client and the shared value types (TimeSpan, SignalName,
// UnitStatusReport, …) live in SwatchControl, the library swatchctl links instead of all
// of SwatchCore (docs/HACKING.md "Where the bytes are"). Re-exported: every file of
// SwatchCore, swatchd and the tests sees them as before.
@_exported import SwatchControl

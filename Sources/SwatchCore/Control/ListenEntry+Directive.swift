// The daemon's side of ListenEntry (SwatchControl/UnitStatusReport.swift): made from a
// socket unit's Listen*= directive, which swatchctl never sees.

extension ListenEntry {
    /// The entry of one Listen*= directive of a socket unit.
    package init(_ directive: ListenDirective) {
        let kind: String
        switch directive.kind {
        case .stream: kind = "Stream"
        case .datagram: kind = "Datagram"
        case .sequentialPacket: kind = "SequentialPacket"
        case .fifo: kind = "FIFO"
        case .special: kind = "Special"
        case .messageQueue: kind = "MessageQueue"
        case .netlink: kind = "Netlink"
        }
        self.init(kind: kind, address: directive.address.description)
    }
}

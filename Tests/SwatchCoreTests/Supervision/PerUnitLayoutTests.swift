import Testing
@testable import SwatchCore

@Suite struct PerUnitLayoutTests {
    @Test func printSizes() {
        func p<T>(_ t: T.Type) { print("SIZE \(T.self) size=\(MemoryLayout<T>.size) stride=\(MemoryLayout<T>.stride)") }
        p(ServiceUnit.self); p(SocketUnit.self); p(Manager.ServiceEntry.self); p(Manager.SocketEntry.self)
        p(ServiceUnitFields.self); p(SocketUnitFields.self); p(Manager.ServiceEntryFields.self); p(Manager.SocketEntryFields.self); p(AcceptedConnectionInfo.self)
        p(ServiceMachine.self); p(SocketMachine.self); p(UnitName.self); p(UnitSection.self); p(Sandbox.self)
        p(SocketOptions.self); p(ResourceControl.self); p(ExitStatusSet.self); p(SourceFileTimes.self)
        p(ExecCommand.self); p(ListenDirective.self); p(ListenAddress.self); p(ServiceMachine.Phase.self)
        p(SocketMachine.Phase.self); p(OutputTarget?.self); p(InputSource.self); p(DevicePolicy.self)
    }
}

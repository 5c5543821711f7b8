import Foundation
let pid = CommandLine.arguments[1]
let s = try String(contentsOfFile: "/proc/\(pid)/maps", encoding: .utf8)
print(s.utf8.count)

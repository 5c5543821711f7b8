import SwatchControl

extension Swatchctl {
    /// `list-dependencies UNIT...`: the units each requires, wants, is bound to, is part of
    /// and upholds, as a tree (DependencyTree.swift), read from `show` records unit by unit;
    /// several units (or globs) print their trees one after the other, as systemctl's.
    struct ListDependencies: Command {
        static let spec = CommandSpec(
            name: "list-dependencies",
            abstract: "Show the units a unit depends on (Requires=, Requisite=, Wants=, BindsTo=, PartOf=, Upholds=) as a tree.",
            options: [.flag("all", "a", help: "Accepted for systemctl compatibility: every unit is followed already.")],
            operands: OperandSpec(name: "UNIT", count: .oneOrMore, help: "The units, or globs of them."))

        let global: GlobalOptions
        let units: [String]

        init(_ arguments: ParsedArguments) throws(UsageError) {
            global = GlobalOptions(arguments)
            units = arguments.operands
        }

        func run() throws {
            let roots = try UnitNames.expand(units, global: global)
            let client = try global.client()
            var cache: [String: UnitStatusReport?] = [:]
            var failure: ControlClient.Failure?
            var malformed: String?
            func lookup(_ name: String) -> UnitStatusReport? {
                if let known = cache[name] { return known }
                var found: UnitStatusReport?
                do {
                    let response = try client.send(.show(units: [name]))
                    if let record = response.records.first { found = try UnitStatusReport(record: record) }
                } catch let error as ControlClient.Failure {
                    failure = failure ?? error
                } catch {
                    malformed = malformed ?? "\(error)"
                }
                cache[name] = .some(found)
                return found
            }
            var missing = false
            var lines: [DependencyTree.Line] = []
            for root in roots {
                guard lookup(root) != nil || failure != nil || malformed != nil else {
                    Output.error("Unit \(root) could not be found.")
                    missing = true
                    continue
                }
                lines += DependencyTree.lines(of: root, lookup: lookup)
            }
            if let failure {
                Output.error(failure.description)
                throw ExitCode(1)
            }
            if let malformed {
                Output.error("Malformed answer from swatchd: \(malformed)")
                throw ExitCode(1)
            }
            if global.json {
                Output.json(.array(lines.map { line -> JSON in
                    var object: [String: JSON] = ["Id": .string(line.name), "Depth": .int(line.prefix.count / 2)]
                    object["ActiveState"] = line.state.map { .string($0.rawValue) }
                    return .object(object)
                }))
            } else {
                for line in lines {
                    Output.line(DependencyTree.render(line, color: Self.colored, width: global.width))
                }
            }
            if missing { throw ExitCode(ControlResponse.Code.noSuchUnit) }
        }

        /// systemctl list-dependencies' colours: green while active or starting, plain while
        /// inactive or stopping, red otherwise (failed).
        static func colored(_ glyph: String, _ state: UnitActiveState) -> String {
            switch state {
            case .active, .reloading, .activating: return Output.green(glyph)
            case .inactive, .deactivating: return glyph
            case .failed: return Output.red(glyph)
            }
        }
    }
}

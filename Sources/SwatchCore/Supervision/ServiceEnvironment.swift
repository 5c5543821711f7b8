/// systemd's default PATH for services (src/basic/path-util.h, DEFAULT_PATH_NORMAL).
let defaultServicePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/// An ordered environment in which a later assignment of a name wins, as
/// systemd composes a service's environment.
struct Environment {
    private(set) var entries: [(String, String)] = []

    mutating func set(_ name: String, _ value: String) {
        if let i = entries.firstIndex(where: { $0.0 == name }) { entries[i].1 = value } else { entries.append((name, value)) }
    }

    mutating func unset(_ name: String) { entries.removeAll { $0.0 == name } }

    subscript(name: String) -> String? { entries.first { $0.0 == name }?.1 }

    var dictionary: [String: String] { Dictionary(entries, uniquingKeysWith: { _, b in b }) }
    var strings: [String] { entries.map { "\($0.0)=\($0.1)" } }
}

/// The environment of one process of a service: clean, as systemd makes it
/// (systemd.exec(5), "Environment variables in spawned processes"; the order
/// of src/core/execute.c's build_environment()): the defaults, then
/// Environment=, EnvironmentFile= and PassEnvironment=, then the protocol
/// variables, less UnsetEnvironment=. Nothing else of swatchd's own
/// environment — secrets live there.
struct ServiceEnvironment {
    /// swatchd's own environment: its PATH and PassEnvironment= come from it.
    var own: [String: String]
    /// `swatchd run`: the service gets the caller's environment, as a developer expects.
    var passOwn = false

    /// `user`: USER/LOGNAME/HOME/SHELL and the directories' variables of the
    /// sandbox; `files`: the EnvironmentFile= assignments, read by the shell.
    func compose(_ order: SpawnOrder, user: [(String, String)], files: [(String, String)]) -> Environment {
        let unit = order.service
        var env = Environment()
        if passOwn {
            for (key, value) in own.sortedByKey() { env.set(key, value) }
        }
        env.set("PATH", passOwn ? (own["PATH"] ?? defaultServicePath) : defaultServicePath)
        env.set("INVOCATION_ID", order.invocationID)
        for (key, value) in user { env.set(key, value) }
        for (key, value) in unit.environment { env.set(key, value) }
        for (key, value) in files { env.set(key, value) }
        for key in unit.passEnvironment {
            if let value = own[key] { env.set(key, value) }
        }
        for (key, value) in order.protocolVariables { env.set(key, value) }
        for variable in unit.unsetEnvironment { env.unset(variable) }
        return env
    }
}

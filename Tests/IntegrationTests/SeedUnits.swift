/// The seed's unit files, verbatim (conf/seed/: the units of the post "Who
/// Watches Watchmen? - Part 2"), as Swift values. Tests adapt copies of them (free ports,
/// a real ExecStart=) with `SeedUnits.adapted`.
enum SeedUnits {
    /// seed/first/
    static let first: [String: String] = [
        "hello.service": """
            [Unit]
            Description=Hello World service
            Requires=network.target

            [Service]
            Type=notify
            Environment=PORT=80
            ExecStart=/opt/hello/bin/hello start
            WatchdogSec=1min

            # We need to add capability to be able to bind on port 80
            CapabilityBoundingSet=CAP_NET_BIND_SERVICE

            # Hardening
            DynamicUser=true
            PrivateDevices=true
            Environment=ERL_CRASH_DUMP_SECONDS=0
            """,
    ]

    /// seed/single/
    static let single: [String: String] = [
        "hello.service": """
            [Unit]
            Description=Hello World service
            Requires=network.target

            [Service]
            Type=notify
            Environment=PORT=80
            ExecStart=/opt/hello/bin/hello start
            WatchdogSec=1min

            # See, we no longer need to insecurely allow binding to any port
            # CapabilityBoundingSet=CAP_NET_BIND_SERVICE

            # Hardening
            DynamicUser=true
            PrivateDevices=true
            Environment=ERL_CRASH_DUMP_SECONDS=0
            """,
        "hello.socket": """
            [Unit]
            Description=Listening socket
            Requires=sockets.target

            [Socket]
            ListenStream=80
            BindIPv6Only=both
            ReusePort=true
            NoDelay=true
            """,
    ]

    /// seed/multi/
    static let multi: [String: String] = [
        "hello-http.socket": """
            [Unit]
            Description=HTTP Socket
            Requires=sockets.target

            [Socket]
            # We declare the name of the file descriptor here to simplify extraction in
            # the application afterwards. By default it will be the socket name (so
            # `hello-http` in our case), but `http` is much cleaner.
            FileDescriptorName=http
            ListenStream=80
            Service=hello.service
            BindIPv6Only=both
            ReusePort=true
            NoDelay=true
            """,
        "hello-https.socket": """
            [Unit]
            Description=HTTPS Socket
            Requires=sockets.target

            [Socket]
            FileDescriptorName=https
            ListenStream=443
            Service=hello.service
            BindIPv6Only=both
            ReusePort=true
            NoDelay=true
            """,
        "hello.service": """
            [Unit]
            Description=Hello World service
            After=hello-http.socket hello-https.socket
            BindTo=hello-http.socket hello-https.socket

            [Service]
            ExecStart=/opt/hello/bin/hello start

            # Hardening
            DynamicUser=true
            PrivateDevices=true
            Environment=ERL_CRASH_DUMB_SECONDS=0
            """,
    ]

    /// A copy of `units` with `ListenStream=OLD` lines pointed at new ports
    /// (`ports[OLD]`), every `ExecStart=` replaced by `execStart`, and the
    /// lines of the directives in `dropping` removed (for a test that needs
    /// the units to load where this build does not enforce them).
    static func adapted(
        _ units: [String: String], ports: [String: UInt16], execStart: String, dropping: [String]
    ) -> [String: String] {
        units.mapValues { text in
            text.split(separator: "\n", omittingEmptySubsequences: false).compactMap { line -> String? in
                if dropping.contains(where: { line.hasPrefix($0 + "=") }) { return nil }
                if line.hasPrefix("ExecStart=") { return "ExecStart=" + execStart }
                if line.hasPrefix("ListenStream="), let port = ports[String(line.dropFirst("ListenStream=".count))] {
                    return "ListenStream=\(port)"
                }
                return String(line)
            }.joined(separator: "\n") + "\n"
        }
    }
}

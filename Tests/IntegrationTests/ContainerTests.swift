// conf/container/ (README.md, "Containers"): the Containerfile and the
// Kubernetes pod. Always: pod.yaml parses (Debian's python3-yaml), names the
// seed's port and probes readiness with swatchctl; every path the two files
// name exists — COPY sources in the checkout, what the build stage copies out
// in a `make install DESTDIR=…` tree with the Containerfile's PREFIX — and the
// built swatchd takes the ENTRYPOINT's flags. Where a container engine runs
// (podman, or docker with a reachable daemon) the image is built and run too.
import Foundation
import Glibc
import Testing

extension Integration {
    @Suite struct ContainerTests {
        static let directory = Harness.repositoryRoot + "/conf/container"

        /// The Containerfile's instructions, continuation lines joined, comments dropped.
        static func instructions() throws -> [(keyword: String, arguments: String)] {
            let text = try #require(readText(directory + "/Containerfile"))
            var result: [(String, String)] = []
            var pending = ""
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if pending.isEmpty && (trimmed.isEmpty || trimmed.hasPrefix("#")) { continue }
                if trimmed.hasSuffix("\\") {
                    pending += trimmed.dropLast() + " "
                    continue
                }
                let whole = pending + trimmed
                pending = ""
                let parts = whole.split(separator: " ", maxSplits: 1)
                result.append((parts[0].uppercased(), parts.count > 1 ? String(parts[1]) : ""))
            }
            return result
        }

        /// pod.yaml as JSON, through Debian's python3-yaml (`make deps`).
        static func pod() throws -> [String: Any] {
            let parse = try Command.run(["/usr/bin/python3", "-c",
                "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
                directory + "/pod.yaml"])
            #expect(parse.status == .exited(0), "pod.yaml does not parse: \(parse.standardError)")
            let object = try JSONSerialization.jsonObject(with: Data(parse.standardOutput.utf8))
            return try #require(object as? [String: Any])
        }

        @Test(.timeLimit(.minutes(1)))
        func podYAMLParsesAndProbesTheSeedsSocket() throws {
            let pod = try Self.pod()
            #expect(pod["apiVersion"] as? String == "v1" && pod["kind"] as? String == "Pod")
            let spec = try #require(pod["spec"] as? [String: Any])
            let containers = try #require(spec["containers"] as? [[String: Any]])
            #expect(containers.count == 1)
            let container = try #require(containers.first)
            #expect((container["image"] as? String)?.hasSuffix("swatchd-hello:latest") == true)
            // The port is the seed's ListenStream= that the image copies to /etc/swatchd.
            let socket = try #require(readText(Harness.repositoryRoot + "/conf/seed/single/hello.socket"))
            let ports = try #require(container["ports"] as? [[String: Any]])
            #expect(socket.contains("ListenStream=80\n") && ports.map { $0["containerPort"] as? Int } == [80])
            let probe = try #require((container["readinessProbe"] as? [String: Any])?["exec"] as? [String: Any])
            let command = try #require(probe["command"] as? [String])
            #expect(command == ["swatchctl", "is-active", "hello.socket"])
            // Longer than --default-timeout-stop, so that swatchd stops its services itself.
            let grace = try #require(spec["terminationGracePeriodSeconds"] as? Int)
            #expect(grace > 10)
        }

        @Test(.timeLimit(.minutes(2)))
        func everyPathTheContainerfileAndThePodNameExists() throws {
            let instructions = try Self.instructions()
            // The build stage installs with some DESTDIR and PREFIX; install the same way here.
            let install = try #require(instructions.first { $0.keyword == "RUN" && $0.arguments.contains("make install") })
            func setting(_ name: String) throws -> String {
                let match = try #require(install.arguments.firstMatch(of: try Regex("\(name)=(\\S+)")),
                                         "no \(name)= in \(install.arguments)")
                return String(match.output[1].substring ?? "")
            }
            let stageDestdir = try setting("DESTDIR"), prefix = try setting("PREFIX")
            let destination = try TemporaryDirectory()
            defer { destination.remove() }
            let bin = try #require(Harness.binaryDirectory)
            let made = try Command.run(
                ["/usr/bin/make", "-C", Harness.repositoryRoot, "install", "DESTDIR=\(destination.path)",
                 "PREFIX=\(prefix)", "BIN_DIR=\(bin)"],
                environment: ["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                timeout: .seconds(90))
            #expect(made.status == .exited(0), "\(made.standardOutput)\(made.standardError)")

            var imagePaths: Set<String> = []
            let copies = instructions.filter { $0.keyword == "COPY" }
            #expect(copies.count >= 3)
            for copy in copies {
                var words = copy.arguments.split(separator: " ").map(String.init)
                let fromStage = words.first?.hasPrefix("--from=") == true
                if fromStage { words.removeFirst() }
                let last = words.popLast()
                let target = try #require(last)
                for source in words where source != "." {
                    let path = fromStage ? destination.path + "/" + source.dropFirst(stageDestdir.count)
                        : Harness.repositoryRoot + "/" + source
                    #expect(fromStage ? source.hasPrefix(stageDestdir + "/") : true, "\(source)")
                    #expect(FileManager.default.fileExists(atPath: path), "COPY \(source): \(path) does not exist")
                    imagePaths.insert(target.hasSuffix("/") ? target + (source as NSString).lastPathComponent : target)
                }
            }
            // What the ENTRYPOINT, the seed's units and the probe need in the image.
            for needed in ["/usr/local/bin/swatchd", "/usr/local/bin/swatchctl", "/usr/local/bin/swatchd-hello",
                           "/etc/swatchd/hello.socket", "/etc/swatchd/hello.service", "/opt/hello/bin/hello"] {
                #expect(imagePaths.contains(needed), "the image lacks \(needed): \(imagePaths.sorted())")
            }
            #expect(prefix + "/bin/swatchd" == "/usr/local/bin/swatchd")
            #expect(access(Self.directory + "/hello", X_OK) == 0)
            let seedService = try #require(readText(Harness.repositoryRoot + "/conf/seed/single/hello.service"))
            #expect(seedService.contains("ExecStart=/opt/hello/bin/hello start\n"))

            // The ENTRYPOINT: swatchd (in PATH from /usr/local/bin) takes its flags; --help ends the parse.
            let entrypoint = try #require(instructions.first { $0.keyword == "ENTRYPOINT" })
            let argv = try #require(try JSONSerialization.jsonObject(with: Data(entrypoint.arguments.utf8)) as? [String])
            #expect(argv == ["swatchd", "--unit-dir", "/etc/swatchd", "--default-timeout-stop", "10s"])
            #expect(FileManager.default.fileExists(atPath: destination.path + "/etc/swatchd"))
            let help = try Command.run([destination.path + prefix + "/bin/" + argv[0]] + argv.dropFirst() + ["--help"])
            #expect(help.status == .exited(0), "\(help.standardError)")
            // The probe's program is installed too.
            let probe = try #require((((try Self.pod()["spec"] as? [String: Any])?["containers"] as? [[String: Any]])?
                .first?["readinessProbe"] as? [String: Any])?["exec"] as? [String: Any])
            let program = try #require((probe["command"] as? [String])?.first)
            #expect(access(destination.path + prefix + "/bin/" + program, X_OK) == 0)
        }

        /// podman, or docker with a daemon that answers; nil when there is neither.
        static let engine: String? = {
            for name in ["podman", "docker"] {
                for directory in ["/usr/local/bin", "/usr/bin", "/bin"] where access(directory + "/" + name, X_OK) == 0 {
                    let info = try? Command.run([directory + "/" + name, "info"], timeout: .seconds(30))
                    if info?.status == .exited(0) { return directory + "/" + name }
                }
            }
            return nil
        }()

        @Test(.enabled(if: engine != nil, "no podman, and no docker whose daemon answers: the image is not built"),
              .timeLimit(.minutes(40)))
        func theImageBuildsAndServesTheSeed() throws {
            let engine = try #require(Self.engine)
            let tag = "localhost/swatchd-hello:test-\(getpid())"
            let build = try Command.run([engine, "build", "-f", Self.directory + "/Containerfile", "-t", tag,
                                         Harness.repositoryRoot], timeout: .seconds(2300))
            #expect(build.status == .exited(0), "\(build.standardOutput)\(build.standardError)")
            defer { _ = try? Command.run([engine, "rmi", "-f", tag]) }
            let port = try Ports.free()
            let name = "swatchd-test-\(getpid())"
            let run = try Command.run([engine, "run", "-d", "--name", name, "--cap-add", "SYS_ADMIN",
                                       "-p", "127.0.0.1:\(port):80", tag])
            #expect(run.status == .exited(0), "\(run.standardError)")
            defer { _ = try? Command.run([engine, "rm", "-f", name]) }
            func logs() -> String {
                ((try? Command.run([engine, "logs", name])).map { $0.standardOutput + $0.standardError }) ?? ""
            }
            try waitUntil("the readiness probe holds\n\(logs())", timeout: .seconds(30)) {
                (try Command.run([engine, "exec", name, "swatchctl", "is-active", "hello.socket"])).status == .exited(0)
            }
            #expect(try Client.body(.loopback4(port)) == Client.helloBody, "\(logs())")
            let stop = try Command.run([engine, "stop", "-t", "20", name], timeout: .seconds(60))
            #expect(stop.status == .exited(0))
            let exit = try Command.run([engine, "inspect", "-f", "{{.State.ExitCode}}", name])
            #expect(exit.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "\(logs())")
            #expect(logs().contains("Received SIGTERM from outside the PID namespace."), "\(logs())")
        }
    }
}

import Glibc

if CommandLine.arguments.dropFirst().first == "verify" {
    exit(runVerify(arguments: Array(CommandLine.arguments.dropFirst(2))))
}
print("swatchd")

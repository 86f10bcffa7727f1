// fleet's benchmarks: `swift run -c release fleet-bench <name> [args]`.
// Each benchmark prints its figures and the command that produced them; results go to docs/benchmarks.md.
import Foundation

let benchmarks: [String: ([String]) throws -> Void] = [
    "validate": validateBenchmark,
    "read": readBenchmark,
    "plan": planBenchmark,
    "apply": applyBenchmark,
    "upload": uploadBenchmark,
    "daemon": daemonBenchmark,
    "running": runningBenchmark,
    "scale": scaleBenchmark,
    "floor": floorBenchmark
]

let args = Array(CommandLine.arguments.dropFirst())
guard let name = args.first, let run = benchmarks[name] else {
    FileHandle.standardError.write(Data("usage: fleet-bench <\(benchmarks.keys.sorted().joined(separator: "|"))> [args]\n".utf8))
    exit(2)
}
do {
    try run(Array(args.dropFirst()))
} catch {
    FileHandle.standardError.write(Data("fleet-bench \(name): \(error)\n".utf8))
    exit(1)
}

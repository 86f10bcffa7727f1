import Foundation

/// Runs `body` `iterations` times after one warm-up and returns the per-run wall times in seconds, sorted.
func measure(iterations: Int, _ body: () throws -> Void) rethrows -> [Double] {
    try body()
    var times: [Double] = []
    for _ in 0..<iterations {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    return times.sorted()
}

func median(_ sorted: [Double]) -> Double { sorted.isEmpty ? 0 : sorted[sorted.count / 2] }

func fmt(_ seconds: Double) -> String { String(format: "%.1f ms", seconds * 1000) }

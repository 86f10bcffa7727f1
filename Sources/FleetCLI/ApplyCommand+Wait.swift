import ArgumentParser
import FleetExecution
import FleetModel
import FleetPlanning
import Foundation

/// `fleet apply --wait[=MODE,TIMEOUT]`: how long apply waits for the VMs it started, and for VMs without a
/// `wait:` of their own, what it waits for.
struct WaitRequest: Equatable {
    static let defaultTimeout: Double = 300
    /// The mode for started VMs that declare no `wait:`; nil: those are not waited for.
    var mode: ReadinessWait?
    var timeout: Double = WaitRequest.defaultTimeout

    /// What `--wait` stands for when given without a value (see `FleetCommand.runMain`).
    static let bare = "on"

    /// `on` (bare `--wait`), a mode (`lease`, `agent`, `ssh-port`, `none`), a timeout (`300`, `90s`, `10m`,
    /// `1h`), or a mode and a timeout separated by a comma.
    init(parsing text: String?) throws {
        guard let text else { return }
        for token in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where token != Self.bare {
            if let m = ReadinessWait(rawValue: token) {
                mode = m
            } else if let t = Self.seconds(token) {
                timeout = t
            } else {
                throw ValidationError(
                    "--wait=\(token): expected a timeout (300, 90s, 10m, 1h) or what to wait for "
                        + "(\(ReadinessWait.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
        }
    }

    static func seconds(_ s: String) -> Double? {
        let units: [(String, Double)] = [("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, factor) in units where s.hasSuffix(suffix) {
            return Double(s.dropLast()).flatMap { $0 > 0 ? $0 * factor : nil }
        }
        return Double(s).flatMap { $0 > 0 ? $0 : nil }
    }
}

extension ApplyCommand {
    /// After the changes: waits for each VM apply started to be ready (its `wait:`, or `--wait=MODE` for those
    /// without one), with a progress line per state change, then prints every started VM's addresses with their
    /// source. Returns false when a VM was not ready in time.
    func waitForStartedVMs(_ plan: Plan, report: ApplyReport, json: Bool, connectTimeout: Double) throws -> Bool {
        let request = try WaitRequest(parsing: wait)
        let all = Readiness.targets(plan: plan, report: report, override: request.mode)
        guard !all.isEmpty else { return true }
        let waiting = all.filter { $0.wait != .none }
        if !json, !waiting.isEmpty {
            let names = waiting.map { "vm/\($0.vm) (\($0.wait.rawValue))" }.joined(separator: ", ")
            printOut("Waiting up to \(Int(request.timeout)) s for \(names)")
        }
        let outcomes = Readiness.wait(for: all, timeout: request.timeout, connectTimeout: connectTimeout) { t, state in
            if !json { printOut("  \(t.host) vm/\(t.vm): \(state)…") }
        }
        var ok = true
        if !json { printOut("Addresses:") }
        for o in outcomes {
            if json {
                struct Line: Encodable {
                    var host, vm, wait: String
                    var ready: Bool
                    var seconds: Double
                    var addresses: [GuestAddress]
                    var error: String?
                }
                let line = Line(
                    host: o.target.host, vm: o.target.vm, wait: o.target.wait.rawValue, ready: o.error == nil,
                    seconds: (o.seconds * 10).rounded() / 10, addresses: o.addresses, error: o.error.map { "\($0)" })
                let enc = JSONEncoder()
                enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                if let d = try? enc.encode(line) { printOut(String(decoding: d, as: UTF8.self)) }
            } else {
                let addrs = o.addresses.isEmpty ? "no address seen yet" : o.addresses.map(\.description).joined(separator: ", ")
                let state = o.target.wait == .none ? "" : o.error == nil ? " ready (\(o.target.wait.rawValue), \(Int(o.seconds)) s)" : ""
                printOut("  \(o.target.host) vm/\(o.target.vm):\(state) \(addrs)")
            }
            if let e = o.error {
                ok = false
                printError("error: \(e)")
            }
        }
        return ok
    }
}

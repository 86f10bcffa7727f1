internal import CLibvirt
import Foundation

/// `virDomainStatsTypes`: which groups `allDomainStats` asks for.
public struct DomainStatsGroups: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let state = DomainStatsGroups(rawValue: VIR_DOMAIN_STATS_STATE.rawValue)
    public static let cpuTotal = DomainStatsGroups(rawValue: VIR_DOMAIN_STATS_CPU_TOTAL.rawValue)
    public static let balloon = DomainStatsGroups(rawValue: VIR_DOMAIN_STATS_BALLOON.rawValue)
    public static let vcpu = DomainStatsGroups(rawValue: VIR_DOMAIN_STATS_VCPU.rawValue)
    public static let interface = DomainStatsGroups(rawValue: VIR_DOMAIN_STATS_INTERFACE.rawValue)
    public static let block = DomainStatsGroups(rawValue: VIR_DOMAIN_STATS_BLOCK.rawValue)
}

/// One domain's record from `Connection.allDomainStats`. Fields are nil when the driver did not
/// report them (e.g. balloon figures for a shut-off domain on some drivers).
public struct DomainStats: Sendable {
    public var domain: Domain
    public var name: String
    /// "state.state".
    public var state: DomainState?
    /// "balloon.current", KiB.
    public var balloonCurrentKiB: UInt64?
    /// "balloon.maximum", KiB.
    public var balloonMaximumKiB: UInt64?
    /// "vcpu.current".
    public var vcpuCurrent: UInt32?
    /// "vcpu.maximum".
    public var vcpuMaximum: UInt32?
    /// "cpu.time", nanoseconds.
    public var cpuTimeNs: UInt64?

    init(domain: Domain, params: virTypedParameterPtr?, count: Int32) {
        self.domain = domain
        self.name = domain.name
        if let s = typedInt(params, count, "state.state") { state = DomainState(rawValue: s) }
        balloonCurrentKiB = typedULLong(params, count, "balloon.current")
        balloonMaximumKiB = typedULLong(params, count, "balloon.maximum")
        vcpuCurrent = typedUInt(params, count, "vcpu.current")
        vcpuMaximum = typedUInt(params, count, "vcpu.maximum")
        cpuTimeNs = typedULLong(params, count, "cpu.time")
    }
}

// Typed-parameter getters: absence (rc 0) or a type mismatch (rc -1) both read as nil.
func typedInt(_ p: virTypedParameterPtr?, _ n: Int32, _ name: String) -> Int32? {
    var v: Int32 = 0
    let rc = virTypedParamsGetInt(p, n, name, &v)
    if rc < 0 { virResetLastError() }
    return rc == 1 ? v : nil
}

func typedUInt(_ p: virTypedParameterPtr?, _ n: Int32, _ name: String) -> UInt32? {
    var v: UInt32 = 0
    let rc = virTypedParamsGetUInt(p, n, name, &v)
    if rc < 0 { virResetLastError() }
    return rc == 1 ? v : nil
}

func typedULLong(_ p: virTypedParameterPtr?, _ n: Int32, _ name: String) -> UInt64? {
    var v: UInt64 = 0
    let rc = virTypedParamsGetULLong(p, n, name, &v)
    if rc < 0 { virResetLastError() }
    return rc == 1 ? v : nil
}

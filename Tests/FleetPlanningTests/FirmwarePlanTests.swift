import FleetModel
import Testing

@testable import FleetPlanning

/// Firmware features and the TPM are fixed for the life of the QEMU process: a change waits for the next boot,
/// only what the manifest names is compared, and a declared TPM is no loss to a recreation.
@Suite struct FirmwarePlanTests {
    let fleet = Fixture.fleet()

    func plan(_ live: LiveState, fleet: Fleet) -> Plan { Planner.plan(desired: fleet, live: live) }

    /// web-1 declared as a secure-boot VM with a TPM, and its live domain as libvirt holds it after fleet's define.
    func secure() -> (Fleet, LiveState) {
        let f = fleet.with { f in
            f.vms[1].machine = "q35"
            f.vms[1].firmware = .uefi
            f.vms[1].secureBoot = true
            f.vms[1].enrolledKeys = true
            f.vms[1].tpm = TPMSpec()
        }
        var live = Fixture.live(fleet)
        let i = live.hosts[0].domains.firstIndex { $0.name == "web-1" }!
        live.hosts[0].domains[i].config.machine = "pc-q35-7.2"
        live.hosts[0].domains[i].config.firmware = .uefi
        live.hosts[0].domains[i].config.secureBoot = true
        live.hosts[0].domains[i].config.enrolledKeys = true
        live.hosts[0].domains[i].config.smm = true
        live.hosts[0].domains[i].config.tpm = LiveTPM(model: "tpm-crb", backend: "emulator", version: "2.0")
        live.hosts[0].domains[i].config.unmanagedDevices = ["tpm tpm-crb"]
        return (f, live)
    }

    @Test func inSyncIsEmpty() {
        let (f, live) = secure()
        #expect(plan(live, fleet: f).changes.isEmpty, "\(plan(live, fleet: f).changes)")
    }

    @Test func secureBootAndTPMChangesNeedARestart() throws {
        let (f, live) = secure()
        let g = f.with { f in
            f.vms[1].secureBoot = false
            f.vms[1].enrolledKeys = false
            f.vms[1].tpm = TPMSpec(model: .tis, version: .tpm20)
        }
        let c = try #require(plan(live, fleet: g).change("vm/web-1"))
        #expect(c.action == .updateRestart)
        #expect(
            c.attributes == [
                AttributeChange("firmware.secure_boot", before: "true", after: "false"),
                AttributeChange("firmware.enrolled_keys", before: "true", after: "false"),
                AttributeChange("tpm", before: "crb 2.0", after: "tis 2.0")
            ])
        #expect(c.steps == [.defineDomain, .restartDomain])
        #expect(c.reason.contains("firmware.secure_boot, firmware.enrolled_keys, tpm"), "\(c.reason)")
    }

    @Test func addingThemToABIOSDomain() throws {
        let (f, _) = secure()
        let c = try #require(plan(Fixture.live(fleet), fleet: f).change("vm/web-1"))
        #expect(c.action == .updateRestart)
        #expect(
            c.attributes.map(\.name) == [
                "firmware", "firmware.secure_boot", "firmware.enrolled_keys", "firmware.smm", "tpm", "machine"
            ],
            "\(c.attributes)")
        #expect(c.attributes.first { $0.name == "tpm" } == AttributeChange("tpm", before: nil, after: "crb 2.0"))
    }

    @Test func unnamedFeaturesAndAnUndeclaredTPMAreLeftAlone() {
        let (_, live) = secure()
        let f = fleet.with { f in
            f.vms[1].machine = "q35"
            f.vms[1].firmware = .uefi
        }
        #expect(plan(live, fleet: f).changes.isEmpty)
    }

    @Test func createListsThem() throws {
        let (f, _) = secure()
        var live = Fixture.live(fleet)
        live.hosts[0].domains.removeAll { $0.name == "web-1" }
        let c = try #require(plan(live, fleet: f).change("vm/web-1", .create))
        #expect(c.attributes.contains(AttributeChange("firmware", before: nil, after: "uefi, secure boot, enrolled keys")))
        #expect(c.attributes.contains(AttributeChange("tpm", before: nil, after: "crb 2.0")))
    }

    @Test func aDeclaredTPMIsNoLossToARecreation() {
        let (f, live) = secure()
        let planner = HostPlanner(context: Context(desired: f, live: live, options: PlanOptions()), host: f.hosts[0], live: live.hosts[0])
        let dom = live.hosts[0].domains.first { $0.name == "web-1" }!
        #expect(planner.droppedByRecreation(dom, f.vms[1]).isEmpty)
        var bare = f.vms[1]
        bare.tpm = nil
        #expect(planner.droppedByRecreation(dom, bare) == ["tpm tpm-crb"])
    }
}

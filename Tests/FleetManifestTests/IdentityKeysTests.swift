import FleetModel
import Foundation
import Testing

@testable import FleetManifest

/// `guest_agent`, `cloud_init.ssh_authorized_keys` / `root_password`, and how `hostname: true` gives each VM a seed.
@Suite struct IdentityKeysTests {
    let base = """
        fleet: ids
        pools: {p: {path: /p}}
        images:
          plain: {source: /img/a.qcow2}
          named: {source: /img/b.qcow2, customize: {hostname: true}}
        """

    @Test func guestAgentAndCloudInitIdentity() throws {
        let (fleet, diags) = try load(
            base + """

                vms:
                  a:
                    memory: 64MiB
                    guest_agent: true
                    disks: [{image: plain}]
                    cloud_init:
                      ssh_authorized_keys: ["ssh-ed25519 AAAA ops"]
                      root_password: {env: ROOT_PW}
                  b: {memory: 64MiB, disks: [{image: plain}]}
                """)
        #expect(diags.isEmpty, "\(diags)")
        let vms = try #require(fleet?.vms)
        #expect(vms[0].guestAgent == true && vms[1].guestAgent == nil)
        #expect(vms[0].cloudInit == CloudInitSpec(sshAuthorizedKeys: ["ssh-ed25519 AAAA ops"], rootPassword: .env("ROOT_PW")))
        #expect(vms[1].cloudInit == nil, "no hostname: true, no cloud_init: no seed")
    }

    @Test func hostnameTrueGivesEveryVMASeed() throws {
        let (fleet, diags) = try load(
            base + """

                vms:
                  web: {count: 2, memory: 64MiB, disks: [{image: named}]}
                  own: {memory: 64MiB, disks: [{image: plain}], customize: {hostname: true}}
                  custom: {memory: 64MiB, disks: [{image: named}], customize: {timezone: UTC}}
                  blank: {memory: 64MiB, disks: [{size: 1GiB}], customize: {hostname: false}}
                """)
        #expect(diags.isEmpty, "\(diags)")
        let vms = try #require(fleet?.vms)
        let by = Dictionary(uniqueKeysWithValues: vms.map { ($0.name, $0) })
        #expect(by["web-1"]?.cloudInit == CloudInitSpec() && by["web-2"]?.seedVolume?.name == "web-2-cidata.img")
        #expect(by["own"]?.cloudInit == CloudInitSpec())
        // The VM's own customization runs anyway: it writes /etc/hostname too.
        #expect(by["custom"]?.customize?.hostname == true && by["custom"]?.cloudInit != nil)
        #expect(by["blank"]?.cloudInit == nil)
    }

    @Test func badValuesAreDiagnosed() throws {
        let (_, diags) = try load(
            base + """

                vms:
                  a:
                    memory: 64MiB
                    guest_agent: yes-please
                    disks: [{image: plain}]
                    cloud_init: {root_password: hunter2, ssh_authorized_keys: "ssh-ed25519 AAAA"}
                """)
        #expect(diags.contains { $0.contains("guest_agent") }, "\(diags)")
        #expect(diags.contains { $0.contains("root_password") || $0.contains("literal") || $0.contains("secret") }, "\(diags)")
        #expect(diags.count >= 3, "\(diags)")
    }
}

import FleetModel
import Foundation
import LibvirtXML
import Testing

@testable import FleetMapping

/// `guest_agent: true` renders the qemu-guest-agent channel (valid per libvirt's schema) and reads back.
@Suite struct GuestAgentMappingTests {
    let fleet = Fleet(name: "f", hosts: [HostSpec(name: "h", uri: "test:///default")])

    func vm(_ agent: Bool?) -> VMSpec {
        VMSpec(
            name: "a", host: "h", memory: .mib(64), virtType: .qemu, disks: [DiskSpec(name: "disk0", size: .mib(8), pool: "p")],
            guestAgent: agent)
    }

    @Test func channelIsRenderedAndReadBack() throws {
        let xml = DomainMapping.render(vm(true), hypervisor: .qemu, owner: mark(vm(true), fleet))
        #expect(xml.contains("<channel type=\"unix\">") || xml.contains("<channel type='unix'>"))
        #expect(xml.contains("org.qemu.guest_agent.0"))
        #expect(try DomainMapping.config(fromXML: xml).guestAgent)
        for v in [vm(false), vm(nil)] {
            let plain = DomainMapping.render(v, hypervisor: .qemu, owner: mark(v, fleet))
            #expect(!plain.contains("<channel"))
            #expect(try !DomainMapping.config(fromXML: plain).guestAgent)
        }
        // virt-xml-validate, libvirt's own schema, accepts the domain with the channel.
        let file = NSTemporaryDirectory() + "fleet-agent-\(UUID().uuidString).xml"
        try Data(xml.utf8).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let r = try run(["virt-xml-validate", file, "domain"])
        #expect(r.status == 0, "\(r.output)")
    }

    /// libvirt fills in the socket path and the channel's address; another channel (spice) is not the agent.
    @Test func liveChannelWithLibvirtDefaults() throws {
        let xml = """
            <domain type='qemu'><name>a</name><memory>65536</memory><os><type>hvm</type></os><devices>
            <channel type='spicevmc'><target type='virtio' name='com.redhat.spice.0'/></channel>
            <channel type='unix'><source mode='bind' path='/run/libvirt/qemu/channel/1-a/org.qemu.guest_agent.0'/>
              <target type='virtio' name='org.qemu.guest_agent.0' state='connected'/><alias name='channel0'/>
              <address type='virtio-serial' controller='0' bus='0' port='1'/></channel>
            </devices></domain>
            """
        let d = try DomainXML(xml: xml)
        #expect(d.devices.channels.count == 2)
        #expect(d.devices.channels[1].sourcePath == "/run/libvirt/qemu/channel/1-a/org.qemu.guest_agent.0")
        #expect(try DomainMapping.config(fromXML: xml).guestAgent)
        let spiceOnly = xml.replacingOccurrences(of: "org.qemu.guest_agent.0", with: "org.example.other")
        #expect(try !DomainMapping.config(fromXML: spiceOnly).guestAgent)
    }

    @Test func fragmentForAttach() {
        #expect(
            DomainMapping.guestAgentChannelXML.contains("name=\"org.qemu.guest_agent.0\"")
                || DomainMapping.guestAgentChannelXML.contains("name='org.qemu.guest_agent.0'"))
    }
}

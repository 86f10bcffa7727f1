import FleetModel
import Foundation
import LibvirtXML
import Testing

@testable import FleetMapping

/// The preflight facts read from libvirt's XML: a PCI node device's driver and IOMMU group, a pool target's
/// permissions, and the capabilities' IOMMU and DAC base label (docs/planning.md, "Preflight").
@Suite struct PreflightFactsTests {
    static let gpu = """
        <device>
          <name>pci_0000_3b_00_0</name>
          <path>/sys/devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0</path>
          <parent>pci_0000_3a_00_0</parent>
          <driver><name>nouveau</name></driver>
          <capability type='pci'>
            <class>0x030000</class>
            <domain>0</domain><bus>59</bus><slot>0</slot><function>0</function>
            <product id='0x1eb8'>TU104GL [Tesla T4]</product>
            <vendor id='0x10de'>NVIDIA Corporation</vendor>
            <iommuGroup number='12'>
              <address domain='0x0000' bus='0x3b' slot='0x00' function='0x0'/>
              <address domain='0x0000' bus='0x3b' slot='0x00' function='0x1'/>
            </iommuGroup>
          </capability>
        </device>
        """

    @Test func pciNodeDeviceGivesDriverAndIOMMUGroup() throws {
        let d = try #require(try NodeDeviceMapping.pciDevice(fromXML: Self.gpu))
        #expect(d.address == PCIAddress(parsing: "0000:3b:00.0"))
        #expect(d.driver == "nouveau" && d.iommuGroup == 12)
        #expect(d.iommuGroupMembers == [PCIAddress(parsing: "0000:3b:00.0")!, PCIAddress(parsing: "0000:3b:00.1")!])
        // Rendered and parsed again, the group survives.
        let doc = try NodeDeviceXML(xml: Self.gpu)
        #expect(try NodeDeviceXML(xml: doc.xml()) == doc)
        // Without an IOMMU the group is absent.
        let bare = Self.gpu.replacingOccurrences(
            of: #"<iommuGroup[\s\S]*</iommuGroup>"#, with: "", options: .regularExpression)
        #expect(try NodeDeviceMapping.pciDevice(fromXML: bare)?.iommuGroup == nil)
    }

    @Test func poolPermissionsAreReadAsNumbers() throws {
        let xml = """
            <pool type='dir'><name>p</name><target><path>/srv/p</path>
            <permissions><mode>0700</mode><owner>65534</owner><group>65534</group></permissions></target></pool>
            """
        #expect(try PoolMapping.spec(fromXML: xml).permissions == PathPermissions(mode: 0o700, owner: 65534, group: 65534))
        let unknown = xml.replacingOccurrences(of: "<owner>65534</owner>", with: "<owner>-1</owner>")
        #expect(try PoolMapping.spec(fromXML: unknown).permissions == nil)
    }

    @Test func capabilitiesGiveIOMMUAndQEMUsUser() throws {
        let caps = """
            <capabilities><host><uuid>x</uuid><iommu support='no'/>
            <secmodel><model>none</model><doi>0</doi></secmodel>
            <secmodel><model>dac</model><doi>0</doi><baselabel type='kvm'>+64055:+64055</baselabel>
            <baselabel type='qemu'>+64055:+64055</baselabel></secmodel></host></capabilities>
            """
        let f = try NodeDeviceMapping.hostFacts(capabilitiesXML: caps)
        #expect(f.iommu == false && f.qemuUser == ProcessLabel(uid: 64055, gid: 64055))
        let on = try NodeDeviceMapping.hostFacts(capabilitiesXML: "<capabilities><host><iommu support='yes'/></host></capabilities>")
        #expect(on.iommu == true && on.qemuUser == nil)
    }
}

// XML exactly as libvirt 9.0 printed it (virsh dumpxml against qemu:///system and test:///default),
// captured while writing these tests; the prefixes ft-…- were unique test names.
enum Samples {
    static let libvirtdDomain = """
        <domain type='qemu'>
          <name>ft-1c9789ea-full</name>
          <uuid>98bf26bd-34b0-46cd-93a4-d621924d92f4</uuid>
          <description>d</description>
          <metadata>
            <fleet:owner xmlns:fleet="https://fleet.dev/xmlns/owner/1" fleet="lab" kind="vm" name="full"/>
          </metadata>
          <memory unit='KiB'>2097152</memory>
          <currentMemory unit='KiB'>1024000</currentMemory>
          <vcpu placement='static' current='2'>4</vcpu>
          <os firmware='efi'>
            <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>
            <boot dev='hd'/>
          </os>
          <features>
            <acpi/>
            <apic/>
          </features>
          <cpu mode='custom' match='exact' check='none'>
            <model fallback='forbid'>qemu64</model>
          </cpu>
          <clock offset='utc'/>
          <on_poweroff>destroy</on_poweroff>
          <on_reboot>restart</on_reboot>
          <on_crash>destroy</on_crash>
          <devices>
            <emulator>/usr/bin/qemu-system-x86_64</emulator>
            <disk type='volume' device='disk'>
              <driver name='qemu' type='qcow2'/>
              <source pool='ft-1c9789ea-pool' volume='ft-1c9789ea-full-root.qcow2'/>
              <target dev='vda' bus='virtio'/>
              <address type='pci' domain='0x0000' bus='0x04' slot='0x00' function='0x0'/>
            </disk>
            <disk type='volume' device='disk'>
              <driver name='qemu' type='raw'/>
              <source pool='ft-1c9789ea-pool' volume='ft-1c9789ea-full-data.img'/>
              <target dev='sda' bus='scsi'/>
              <address type='drive' controller='0' bus='0' target='0' unit='0'/>
            </disk>
            <disk type='volume' device='cdrom'>
              <driver name='qemu' type='raw'/>
              <source pool='ft-1c9789ea-pool' volume='ft-1c9789ea-full-cidata.img'/>
              <target dev='sdb' bus='sata'/>
              <readonly/>
              <address type='drive' controller='0' bus='0' target='0' unit='1'/>
            </disk>
            <controller type='scsi' index='0' model='virtio-scsi'>
              <address type='pci' domain='0x0000' bus='0x02' slot='0x00' function='0x0'/>
            </controller>
            <controller type='usb' index='0' model='qemu-xhci'>
              <address type='pci' domain='0x0000' bus='0x03' slot='0x00' function='0x0'/>
            </controller>
            <controller type='sata' index='0'>
              <address type='pci' domain='0x0000' bus='0x00' slot='0x1f' function='0x2'/>
            </controller>
            <controller type='pci' index='0' model='pcie-root'/>
            <controller type='pci' index='1' model='pcie-root-port'>
              <model name='pcie-root-port'/>
              <target chassis='1' port='0x10'/>
              <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0' multifunction='on'/>
            </controller>
            <controller type='pci' index='2' model='pcie-root-port'>
              <model name='pcie-root-port'/>
              <target chassis='2' port='0x11'/>
              <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x1'/>
            </controller>
            <controller type='pci' index='3' model='pcie-root-port'>
              <model name='pcie-root-port'/>
              <target chassis='3' port='0x12'/>
              <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x2'/>
            </controller>
            <controller type='pci' index='4' model='pcie-root-port'>
              <model name='pcie-root-port'/>
              <target chassis='4' port='0x13'/>
              <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x3'/>
            </controller>
            <controller type='pci' index='5' model='pcie-root-port'>
              <model name='pcie-root-port'/>
              <target chassis='5' port='0x14'/>
              <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x4'/>
            </controller>
            <controller type='pci' index='6' model='pcie-root-port'>
              <model name='pcie-root-port'/>
              <target chassis='6' port='0x15'/>
              <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x5'/>
            </controller>
            <controller type='pci' index='7' model='pcie-root-port'>
              <model name='pcie-root-port'/>
              <target chassis='7' port='0x16'/>
              <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x6'/>
            </controller>
            <interface type='network'>
              <mac address='52:54:00:02:17:07'/>
              <source network='default'/>
              <model type='virtio'/>
              <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
            </interface>
            <serial type='pty'>
              <target type='isa-serial' port='0'>
                <model name='isa-serial'/>
              </target>
            </serial>
            <console type='pty'>
              <target type='serial' port='0'/>
            </console>
            <input type='tablet' bus='usb'>
              <address type='usb' bus='0' port='1'/>
            </input>
            <input type='mouse' bus='ps2'/>
            <input type='keyboard' bus='ps2'/>
            <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'>
              <listen type='address' address='127.0.0.1'/>
            </graphics>
            <audio id='1' type='none'/>
            <video>
              <model type='cirrus' vram='16384' heads='1' primary='yes'/>
              <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>
            </video>
            <hostdev mode='subsystem' type='pci' managed='yes'>
              <source>
                <address domain='0x0000' bus='0x00' slot='0x00' function='0x0'/>
              </source>
              <address type='pci' domain='0x0000' bus='0x05' slot='0x00' function='0x0'/>
            </hostdev>
            <memballoon model='virtio'>
              <address type='pci' domain='0x0000' bus='0x06' slot='0x00' function='0x0'/>
            </memballoon>
          </devices>
        </domain>
        """

    static let testDriverDomain = """
        <domain type='test' id='1'>
          <name>test</name>
          <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>
          <memory unit='KiB'>8388608</memory>
          <currentMemory unit='KiB'>2097152</currentMemory>
          <vcpu placement='static'>2</vcpu>
          <os>
            <type arch='i686'>hvm</type>
            <boot dev='hd'/>
          </os>
          <clock offset='utc'/>
          <on_poweroff>destroy</on_poweroff>
          <on_reboot>restart</on_reboot>
          <on_crash>destroy</on_crash>
          <devices>
            <disk type='file' device='disk'>
              <source file='/guest/diskimage1'/>
              <target dev='vda' bus='virtio'/>
              <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
            </disk>
            <interface type='network'>
              <mac address='aa:bb:cc:dd:ee:ff'/>
              <source network='default'/>
              <target dev='testnet0'/>
              <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>
            </interface>
            <memballoon model='virtio'>
              <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>
            </memballoon>
          </devices>
        </domain>
        """

    static let testDriverNetwork = """
        <network>
          <name>default</name>
          <uuid>dd8fe884-6c02-601e-7551-cca97df1c5df</uuid>
          <forward mode='nat'/>
          <bridge name='virbr0' stp='on' delay='0'/>
          <ip address='192.168.122.1' netmask='255.255.255.0'>
            <dhcp>
              <range start='192.168.122.2' end='192.168.122.254'/>
            </dhcp>
          </ip>
        </network>
        """

    static let libvirtdNetwork = """
        <network>
          <name>ft-1c9789ea-net</name>
          <uuid>3bcaffeb-0431-4b8c-b781-8b3bfe29f665</uuid>
          <forward mode='nat'/>
          <bridge name='virbr1' stp='on' delay='0'/>
          <mac address='52:54:00:e0:f8:58'/>
          <ip address='10.88.0.1' prefix='24'>
          </ip>
        </network>
        """

    static let testDriverPool = """
        <pool type='dir'>
          <name>default-pool</name>
          <uuid>dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566</uuid>
          <capacity unit='bytes'>107374182400</capacity>
          <allocation unit='bytes'>0</allocation>
          <available unit='bytes'>107374182400</available>
          <source>
          </source>
          <target>
            <path>/default-pool</path>
          </target>
        </pool>
        """

    static let libvirtdPool = """
        <pool type='dir'>
          <name>ft-1c9789ea-pool</name>
          <uuid>722ad652-024f-458f-9de9-7c8da4281119</uuid>
          <capacity unit='bytes'>270553174016</capacity>
          <allocation unit='bytes'>19764776960</allocation>
          <available unit='bytes'>250788397056</available>
          <source>
          </source>
          <target>
            <path>/tmp/ft-1c9789ea-pool</path>
            <permissions>
              <mode>0755</mode>
              <owner>0</owner>
              <group>0</group>
            </permissions>
          </target>
        </pool>
        """

    static let testDriverVolume = """
        <volume type='file'>
          <name>v1.img</name>
          <key>/default-pool/v1.img</key>
          <capacity unit='bytes'>1073741824</capacity>
          <allocation unit='bytes'>1073741824</allocation>
          <target>
            <path>/default-pool/v1.img</path>
            <format type='raw'/>
          </target>
        </volume>
        """

    static let libvirtdVolume = """
        <volume type='file'>
          <name>v2.qcow2</name>
          <key>/tmp/ft-1c9789ea-pool/v2.qcow2</key>
          <capacity unit='bytes'>2147483648</capacity>
          <allocation unit='bytes'>200704</allocation>
          <physical unit='bytes'>196640</physical>
          <target>
            <path>/tmp/ft-1c9789ea-pool/v2.qcow2</path>
            <format type='qcow2'/>
            <permissions>
              <mode>0600</mode>
              <owner>0</owner>
              <group>0</group>
            </permissions>
            <timestamps>
              <atime>1795747014.403442922</atime>
              <mtime>1795747014.396000932</mtime>
              <ctime>1795747014.400000932</ctime>
              <btime>0</btime>
            </timestamps>
          </target>
          <backingStore>
            <path>/tmp/ft-1c9789ea-pool/v1.qcow2</path>
            <format type='qcow2'/>
            <permissions>
              <mode>0600</mode>
              <owner>0</owner>
              <group>0</group>
            </permissions>
            <timestamps>
              <atime>1795747014.269616690</atime>
              <mtime>1795747014.260003999</mtime>
              <ctime>1795747014.264000932</ctime>
              <btime>0</btime>
            </timestamps>
          </backingStore>
        </volume>
        """

    static let testDriverSnapshot = """
        <domainsnapshot>
          <name>s2</name>
          <state>running</state>
          <parent>
            <name>s1</name>
          </parent>
          <creationTime>1795747026</creationTime>
          <memory snapshot='internal'/>
          <disks>
            <disk name='vda' snapshot='internal'/>
          </disks>
          <domain type='test'>
            <name>test</name>
            <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>
            <memory unit='KiB'>8388608</memory>
            <currentMemory unit='KiB'>2097152</currentMemory>
            <vcpu placement='static'>2</vcpu>
            <os>
              <type arch='i686'>hvm</type>
              <boot dev='hd'/>
            </os>
            <clock offset='utc'/>
            <on_poweroff>destroy</on_poweroff>
            <on_reboot>restart</on_reboot>
            <on_crash>destroy</on_crash>
            <devices>
              <disk type='file' device='disk'>
                <source file='/guest/diskimage1'/>
                <target dev='vda' bus='virtio'/>
                <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
              </disk>
              <interface type='network'>
                <mac address='aa:bb:cc:dd:ee:ff'/>
                <source network='default'/>
                <target dev='testnet0'/>
                <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>
              </interface>
              <memballoon model='virtio'>
                <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>
              </memballoon>
            </devices>
          </domain>
        </domainsnapshot>
        """

    static let libvirtdNodeDevicePCI = """
        <device>
          <name>pci_0000_00_00_0</name>
          <path>/sys/devices/pci0000:00/0000:00:00.0</path>
          <parent>computer</parent>
          <capability type='pci'>
            <class>0x060000</class>
            <domain>0</domain>
            <bus>0</bus>
            <slot>0</slot>
            <function>0</function>
            <product id='0x0d57'/>
            <vendor id='0x8086'>Intel Corporation</vendor>
            <pci-express/>
          </capability>
        </device>
        """

    static let all: [String] = [
        libvirtdDomain, testDriverDomain, testDriverNetwork, libvirtdNetwork, testDriverPool, libvirtdPool, testDriverVolume,
        libvirtdVolume, testDriverSnapshot, libvirtdNodeDevicePCI, usbNodeDevice, netfsPool, logicalPool, rich
    ]
}

extension Samples {
    /// A USB node device in the shape formatnode.html documents (this machine has none).
    static let usbNodeDevice = """
        <device>
          <name>usb_1_5</name>
          <path>/sys/devices/pci0000:00/0000:00:14.0/usb1/1-5</path>
          <devnode type='dev'>/dev/bus/usb/001/005</devnode>
          <parent>usb_usb1</parent>
          <driver>
            <name>usb</name>
          </driver>
          <capability type='usb_device'>
            <bus>1</bus>
            <device>5</device>
            <product id='0x0407'>Yubikey 4/5 OTP+U2F+CCID</product>
            <vendor id='0x1050'>Yubico.com</vendor>
          </capability>
        </device>
        """

    static let netfsPool = """
        <pool type="netfs">
          <name>nfs</name>
          <source>
            <host name="nfs.example.org"/>
            <dir path="/export/vms"/>
            <format type="nfs"/>
          </source>
          <target>
            <path>/var/lib/libvirt/nfs</path>
          </target>
        </pool>
        """

    static let logicalPool = """
        <pool type='logical'>
          <name>vg0</name>
          <capacity unit='G'>100</capacity>
          <source>
            <device path='/dev/sdb1'/>
            <device path='/dev/sdc1'/>
            <name>vg0</name>
            <format type='lvm2'/>
          </source>
          <target>
            <path>/dev/vg0</path>
          </target>
        </pool>
        """

    /// Hand-written to hit the rarer syntax: prolog, comments, CDATA, entities, double quotes, USB hostdev,
    /// spice with a password, maxMemory, loader/nvram, a bridge interface and an unknown element.
    static let rich = """
        <?xml version="1.0" encoding="UTF-8"?>
        <!-- generated -->
        <domain type="kvm" id="3">
          <name>rich</name>
          <title>R &amp; D</title>
          <description><![CDATA[a <raw> & "quoted" text]]> &#x263A; &#65;</description>
          <maxMemory slots="16" unit="GiB">64</maxMemory>
          <memory unit="MiB">4096</memory>
          <currentMemory>2097152</currentMemory>
          <vcpu placement="auto" current="1">8</vcpu>
          <os>
            <type arch="x86_64" machine="pc-q35-7.2">hvm</type>
            <loader readonly="yes" secure="no" type="pflash">/usr/share/OVMF/OVMF_CODE_4M.fd</loader>
            <nvram>/var/lib/libvirt/qemu/nvram/rich_VARS.fd</nvram>
            <boot dev="cdrom"/>
            <boot dev="hd"/>
          </os>
          <features><acpi/><apic/><vmport state="off"/></features>
          <cpu mode="host-model" check="partial"/>
          <devices>
            <disk type="block" device="disk">
              <driver name="qemu" type="raw" cache="none"/>
              <source dev="/dev/vg0/rich"/>
              <target dev="vdb" bus="virtio"/>
              <boot order="1"/>
            </disk>
            <interface type="bridge">
              <mac address="52:54:00:aa:bb:cc"/>
              <source bridge="br0"/>
              <target dev="vnet0"/>
              <model type="virtio"/>
            </interface>
            <graphics type="spice" port="5901" autoport="no" listen="0.0.0.0" passwd="p&apos;w">
              <listen type="address" address="0.0.0.0"/>
              <image compression="off"/>
            </graphics>
            <hostdev mode="subsystem" type="usb" managed="no">
              <source><vendor id="0x1050"/><product id="0x0407"/></source>
            </hostdev>
            <video><model type="qxl" vram="65536" heads="1"/></video>
            <frobnicator/>
          </devices>
        </domain>
        """
}

// Owned by the binding work: `fleet-bench read [N=1000] [iterations=5]`.
// Generates a libvirt test-driver fixture with N domains (2 disks, 1 NIC, graphics each), then times
// (a) the Swift binding: open + listAllDomains + xmlDesc of each, and (b) the raw C floor doing the
// same calls with no wrapping (`RawFloor`, inside the Libvirt target). Prints medians and the ratio.
import Foundation
import Libvirt

func readBenchmark(_ args: [String]) throws {
    let n = args.count > 0 ? max(Int(args[0]) ?? 1000, 1) : 1000
    let iterations = args.count > 1 ? max(Int(args[1]) ?? 5, 1) : 5
    let path = NSTemporaryDirectory() + "fleet-bench-read-\(getpid())-\(n).xml"
    try readBenchFixture(domains: n).write(toFile: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let uri = "test://" + path

    var bindingBytes = 0
    var rawBytes = 0
    // Interleaved (binding, floor) pairs after one warm-up of each, so load from other processes on
    // the shared cores hits both sides alike.
    var binding: [Double] = []
    var raw: [Double] = []
    for i in 0...iterations {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let conn = try Connection(uri: uri)
        var bytes = 0
        for d in try conn.listAllDomains() { bytes += try d.xmlDesc().utf8.count }
        bindingBytes = bytes
        let t1 = DispatchTime.now().uptimeNanoseconds
        rawBytes = try RawFloor.readAllDomainXML(uri: uri)
        let t2 = DispatchTime.now().uptimeNanoseconds
        if i > 0 {
            binding.append(Double(t1 - t0) / 1e9)
            raw.append(Double(t2 - t1) / 1e9)
        }
    }
    binding.sort()
    raw.sort()
    guard bindingBytes == rawBytes else {
        throw ReadBenchError.mismatch(binding: bindingBytes, raw: rawBytes)
    }
    let b = median(binding)
    let r = median(raw)
    print("read: \(n) domains (2 disks, 1 NIC, graphics each), \(rawBytes) bytes of XML, \(iterations) interleaved runs after 1 warm-up")
    print(
        "  binding (open + listAllDomains + xmlDesc each): median \(fmt(b))  (min \(fmt(binding.first ?? 0)), max \(fmt(binding.last ?? 0)))"
    )
    print("  raw C floor (same calls, no wrapping):          median \(fmt(r))  (min \(fmt(raw.first ?? 0)), max \(fmt(raw.last ?? 0)))")
    print(String(format: "  ratio binding / floor: %.2fx", r > 0 ? b / r : 0))
    print("  command: swift run -c release fleet-bench read \(n) \(iterations)")
}

enum ReadBenchError: Error, CustomStringConvertible {
    case mismatch(binding: Int, raw: Int)
    var description: String {
        switch self {
        case .mismatch(let b, let r): "binding read \(b) bytes of XML but the raw floor read \(r)"
        }
    }
}

/// A test-driver node document with `domains` inactive domains named bench-00001...
func readBenchFixture(domains: Int) -> String {
    var s = """
        <?xml version="1.0"?>
        <node>
          <cpu><mhz>2400</mhz><model>x86_64</model><active>8</active><nodes>1</nodes><sockets>1</sockets><cores>4</cores><threads>2</threads></cpu>
          <memory>67108864</memory>
          <network><name>benchnet</name><bridge name='virbr-bench'/><ip address='10.99.0.1' netmask='255.255.0.0'/></network>

        """
    s.reserveCapacity(domains * 1200)
    for i in 0..<domains {
        let name = "bench-" + String(format: "%05d", i)
        let mac = String(format: "52:54:00:%02x:%02x:%02x", (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff)
        s += """
              <domain type='test'>
                <name>\(name)</name>
                <memory unit='MiB'>2048</memory>
                <vcpu>2</vcpu>
                <os><type arch='x86_64'>hvm</type></os>
                <devices>
                  <disk type='file' device='disk'>
                    <driver name='qemu' type='qcow2'/>
                    <source file='/var/lib/libvirt/images/\(name)-root.qcow2'/>
                    <target dev='vda' bus='virtio'/>
                  </disk>
                  <disk type='file' device='disk'>
                    <driver name='qemu' type='qcow2'/>
                    <source file='/var/lib/libvirt/images/\(name)-data.qcow2'/>
                    <target dev='vdb' bus='virtio'/>
                  </disk>
                  <interface type='network'>
                    <mac address='\(mac)'/>
                    <source network='benchnet'/>
                    <model type='virtio'/>
                  </interface>
                  <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/>
                </devices>
              </domain>

            """
    }
    s += "</node>\n"
    return s
}

// `fleet-bench upload [MIB=1024] [URI=qemu:///system]`: upload of an image file into a pool volume through
// fleet's stream loop (`StorageVolume.upload`, what `fleet apply` uses for images) against
// `virsh vol-upload` of the same file, interleaved 3 times; then the time to create 50 qcow2 overlay
// volumes backed by one image volume. Objects are named `fb-<hex>-…` and removed afterwards.
import Dispatch
import FleetMapping
import FleetModel
import Foundation
import Libvirt

func uploadBenchmark(_ args: [String]) throws {
    let mib = args.count > 0 ? max(Int(args[0]) ?? 1024, 1) : 1024
    let uri = args.count > 1 ? args[1] : "qemu:///system"
    let hex = String(UInt32.random(in: 0...UInt32.max), radix: 16)
    let prefix = "fb-\(hex)-"
    let poolPath = "/var/lib/libvirt/images/\(prefix)pool"
    let file = NSTemporaryDirectory() + "\(prefix)image.raw"
    defer {
        benchCleanup(uri: uri, prefix: prefix, fleet: "none")
        try? FileManager.default.removeItem(atPath: file)
        try? FileManager.default.removeItem(atPath: poolPath)
    }
    // Incompressible, non-sparse content: every byte crosses the stream.
    try shell("/bin/dd", ["if=/dev/urandom", "of=\(file)", "bs=1M", "count=\(mib)", "status=none"])
    let conn = try Connection(uri: uri)
    let pool = try conn.definePool(xml: PoolMapping.render(PoolSpec(name: "\(prefix)pool", type: .dir, path: poolPath)))
    try pool.build()
    try pool.create()
    let size = ByteSize(bytes: UInt64(mib) << 20)

    var fleetTimes: [Double] = []
    var virshTimes: [Double] = []
    for i in 0..<8 {
        // Each timed upload starts after `sync`, so neither side pays for writing back the other's
        // gigabyte; and the sides alternate which goes first.
        let fleetSide = {
            let a = try pool.createVolume(xml: VolumeMapping.render(name: "f\(i).raw", format: .raw, capacity: size))
            try shell("/bin/sync", [])
            let t0 = DispatchTime.now().uptimeNanoseconds
            try a.upload(fromFile: file, progress: nil)
            fleetTimes.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            try a.delete()
        }
        let virshSide = {
            _ = try pool.createVolume(xml: VolumeMapping.render(name: "v\(i).raw", format: .raw, capacity: size))
            try shell("/bin/sync", [])
            let t0 = DispatchTime.now().uptimeNanoseconds
            try shell("/usr/bin/virsh", ["-q", "-c", uri, "vol-upload", "v\(i).raw", file, "--pool", "\(prefix)pool"])
            virshTimes.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            try pool.volume(named: "v\(i).raw")?.delete()
        }
        if i % 2 == 0 {
            try fleetSide()
            try virshSide()
        } else {
            try virshSide()
            try fleetSide()
        }
    }
    // Times depend on which side ran just before (the page cache and ext4 still settling the other's
    // gigabyte), so the fair comparison is each side when it ran first in its pair.
    let fleetFirst = fleetTimes.enumerated().filter { $0.offset % 2 == 0 }.map(\.element).sorted()
    let virshFirst = virshTimes.enumerated().filter { $0.offset % 2 == 1 }.map(\.element).sorted()
    print(
        "  runs, in order:  fleet", fleetTimes.map { String(format: "%.2f", $0) }.joined(separator: " "),
        "  virsh", virshTimes.map { String(format: "%.2f", $0) }.joined(separator: " "), "(fleet first in even pairs)")
    let ff = median(fleetFirst)
    let vf = median(virshFirst)
    print(
        String(
            format: "  each side when it ran first in its pair: fleet median %.2f s, virsh median %.2f s, ratio %.2fx", ff, vf,
            vf > 0 ? ff / vf : 0))
    fleetTimes.sort()
    virshTimes.sort()
    let f = median(fleetTimes)
    let v = median(virshTimes)
    print("upload: \(mib) MiB of random data into a dir pool on \(uri), 8 interleaved pairs, alternating which goes first")
    print(String(format: "  fleet (StorageVolume.upload): median %.2f s (%.0f MB/s)", f, Double(mib) * 1.048576 / f))
    print(String(format: "  virsh vol-upload:             median %.2f s (%.0f MB/s)", v, Double(mib) * 1.048576 / v))
    print(String(format: "  ratio fleet / virsh (all runs): %.2fx", v > 0 ? f / v : 0))

    // 50 overlays on one image volume.
    let base = try pool.createVolume(xml: VolumeMapping.render(name: "base.qcow2", format: .qcow2, capacity: .gib(8)))
    let t0 = DispatchTime.now().uptimeNanoseconds
    for i in 0..<50 {
        _ = try pool.createVolume(
            xml: VolumeMapping.render(
                name: "ov\(i).qcow2", format: .qcow2, capacity: .gib(8),
                backingPath: base.path, backingFormat: .qcow2))
    }
    let overlays = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    print(String(format: "  50 qcow2 overlays on one image: %.2f s (%.1f ms each)", overlays, overlays * 20))
    print("  command: swift run -c release fleet-bench upload \(mib) \(uri)")
}

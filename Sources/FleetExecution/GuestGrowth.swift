import Foundation
import Libvirt

/// Grows the partition and filesystem of a disk inside a running guest through qemu-guest-agent, right after
/// the block device grew (virDomainBlockResize): guest-get-fsinfo finds the mounted ext2/3/4 and XFS
/// filesystems, sysfs tells their disk and partition number, and the disk whose size is now the new one gets
/// `growpart DISK N` (cloud-guest-utils) and then `resize2fs DEV` or `xfs_growfs MOUNTPOINT`, each through
/// guest-exec, waiting for guest-exec-status.
struct GuestGrowth {
    let domain: Domain

    typealias Failure = GuestAgent.Failure
    var agent: GuestAgent { GuestAgent(domain: domain) }

    func command(_ execute: String, _ arguments: [String: Any]? = nil, timeout: Int32 = 10) throws -> Any? {
        try agent.command(execute, arguments, timeout: timeout)
    }

    func exec(_ path: String, _ args: [String], timeout: TimeInterval = 300) throws -> GuestAgent.Result {
        try agent.exec(path, args, timeout: timeout)
    }

    func read(_ path: String) throws -> String {
        let r = try exec("cat", [path])
        guard r.exitCode == 0 else { throw Failure(description: "cat \(path): \(r.stderr.trimmed)") }
        return r.stdout.trimmed
    }

    struct Target {
        var device: String  // vda1
        var type: String  // ext4, xfs
        var mountpoint: String
        var disk: String  // vda
        var partition: Int?  // 1; nil: the filesystem is on the whole disk
    }

    /// Grows every mounted ext2/3/4 or XFS filesystem on the disk that now has `diskBytes`; returns what it grew
    /// (`/dev/vda1 ext4 on /`). Throws when no such filesystem is found or a tool fails.
    @discardableResult
    func grow(diskBytes: UInt64, settle: TimeInterval = 60) throws -> [String] {
        guard let fsinfo = try command("guest-get-fsinfo", timeout: 30) as? [[String: Any]] else {
            throw Failure(description: "guest-get-fsinfo returned nothing")
        }
        var targets: [Target] = []
        for fs in fsinfo {
            guard let name = fs["name"] as? String, let type = fs["type"] as? String, let mp = fs["mountpoint"] as? String,
                ["ext2", "ext3", "ext4", "xfs"].contains(type), !targets.contains(where: { $0.device == name })
            else { continue }
            let sys = "/sys/class/block/\(name)"
            let isPartition = (try? exec("test", ["-e", "\(sys)/partition"]).exitCode) == 0
            if isPartition {
                let parent = try exec("readlink", ["-f", "\(sys)/.."])
                guard parent.exitCode == 0, let disk = parent.stdout.trimmed.split(separator: "/").last.map(String.init) else { continue }
                targets.append(Target(device: name, type: type, mountpoint: mp, disk: disk, partition: Int(try read("\(sys)/partition"))))
            } else {
                targets.append(Target(device: name, type: type, mountpoint: mp, disk: name, partition: nil))
            }
        }
        guard !targets.isEmpty else { throw Failure(description: "the guest has no mounted ext2/3/4 or XFS filesystem") }
        // The guest kernel learns the new capacity from a virtio config interrupt: give it a moment.
        var matching: [Target] = []
        let deadline = Date().addingTimeInterval(settle)
        var sizes: [String: UInt64] = [:]
        repeat {
            for disk in Set(targets.map(\.disk)) { sizes[disk] = UInt64(try read("/sys/class/block/\(disk)/size")).map { $0 * 512 } }
            matching = targets.filter { sizes[$0.disk] == diskBytes }
            if !matching.isEmpty { break }
            Thread.sleep(forTimeInterval: 1)
        } while Date() < deadline
        guard !matching.isEmpty else {
            let seen = sizes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value) bytes" }.joined(separator: ", ")
            throw Failure(description: "no mounted filesystem of the guest is on a disk of \(diskBytes) bytes (\(seen))")
        }
        var grown: [String] = []
        for t in matching {
            if let n = t.partition {
                let r = try exec("growpart", ["/dev/\(t.disk)", String(n)])
                // growpart exits 1 with NOCHANGE when the partition already fills the disk.
                guard r.exitCode == 0 || (r.exitCode == 1 && r.stdout.contains("NOCHANGE")) else {
                    throw Failure(description: "growpart /dev/\(t.disk) \(n): exit \(r.exitCode): \((r.stderr + r.stdout).trimmed)")
                }
            }
            let r = t.type == "xfs" ? try exec("xfs_growfs", [t.mountpoint]) : try exec("resize2fs", ["/dev/\(t.device)"])
            guard r.exitCode == 0 else {
                throw Failure(
                    description: "\(t.type == "xfs" ? "xfs_growfs" : "resize2fs") /dev/\(t.device): exit \(r.exitCode): \(r.stderr.trimmed)"
                )
            }
            grown.append("/dev/\(t.device) \(t.type) on \(t.mountpoint)")
        }
        return grown
    }
}

extension String {
    fileprivate var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }
}

import FleetImages
import FleetModel
import Foundation

/// What the planner cannot compute itself because it reads files and secrets: the digest of each
/// VM's customization inputs and the instance-id of each cloud-init seed.
public struct ImageInputs: Sendable {
    public var digests: [String: String] = [:]
    public var seedIDs: [String: String] = [:]
    /// Per image with `customize:`, the digest of its inputs (see `ImageSpec.customizationDigest`).
    public var imageDigests: [String: String] = [:]
    /// Per VM with a graphics password, its digest (`graphicsPasswordDigest`), so a changed password converges.
    public var graphicsPasswordDigests: [String: String] = [:]
    /// What `digests` and `seedIDs` were before fleet keys (see `PlanOptions.olderCustomizationDigests`).
    public var olderDigests: [String: String] = [:]
    public var olderSeedIDs: [String: String] = [:]
    /// Per VM with `ignition:`, the digest of its config file (`IgnitionFile.digest`).
    public var ignitionDigests: [String: String] = [:]
    /// Per VM on a local host, the share sources that are no directory here (`PlanOptions.missingShareSources`).
    public var missingShareSources: [String: [String]] = [:]
    /// Inputs that could not be read now; apply will report them as errors of those disks.
    public var warnings: [String] = []

    public static func compute(_ fleet: Fleet, secrets: SecretResolver = SecretResolver()) -> ImageInputs {
        var out = ImageInputs()
        var unkeyed = secrets
        unkeyed.fleetKey = nil
        for image in fleet.images {
            guard let c = image.customize, !c.isEmptyForImage else { continue }
            do { out.imageDigests[image.name] = try Customizer.digest(c, hostname: nil, secrets: secrets, fleet: fleet.name) } catch {
                out.warnings.append("image \(image.name): customization inputs: \(error)")
            }
        }
        for vm in fleet.vms {
            if let c = vm.customize, !c.isEmpty {
                do {
                    out.digests[vm.name] = try Customizer.digest(c, hostname: vm.name, secrets: secrets, fleet: fleet.name)
                    if c.rootPassword != nil, secrets.fleetKey != nil {
                        out.olderDigests[vm.name] = try Customizer.digest(c, hostname: vm.name, secrets: unkeyed, fleet: fleet.name)
                    }
                } catch {
                    out.warnings.append("vm \(vm.name): customization inputs: \(error)")
                }
            }
            if let ref = vm.graphics?.password {
                do {
                    let password = try secrets.resolve(ref)
                    if let problem = vm.graphics?.passwordProblem(password) {
                        out.warnings.append("vm \(vm.name): graphics password: \(problem)")
                    }
                    out.graphicsPasswordDigests[vm.name] = graphicsPasswordDigest(password)
                } catch {
                    out.warnings.append("vm \(vm.name): graphics password: \(error)")
                }
            }
            if let ign = vm.ignition {
                do { out.ignitionDigests[vm.name] = try IgnitionFile.digest(ign) } catch {
                    out.warnings.append("vm \(vm.name): ignition: \(error)")
                }
            }
            // Only a local host's directories can be looked at: libvirt has no call to stat a remote path.
            if let shares = vm.shares, fleet.hosts.first(where: { $0.name == vm.host })?.isLocal ?? false {
                let missing = shares.map(\.source).filter { path in
                    var isDir: ObjCBool = false
                    return !FileManager.default.fileExists(atPath: path, isDirectory: &isDir) || !isDir.boolValue
                }
                if !missing.isEmpty { out.missingShareSources[vm.name] = missing }
            }
            if let ci = vm.cloudInit {
                do {
                    out.seedIDs[vm.name] = try CloudInitSeed.instanceID(ci, vmName: vm.name, secrets: secrets, fleet: fleet.name)
                    if ci.rootPassword != nil, secrets.fleetKey != nil {
                        out.olderSeedIDs[vm.name] = try CloudInitSeed.instanceID(ci, vmName: vm.name, secrets: unkeyed, fleet: fleet.name)
                    }
                } catch {
                    out.warnings.append("vm \(vm.name): cloud-init: \(error)")
                }
            }
        }
        return out
    }

    /// The fleet with image digests filled in, as it is planned and applied.
    public func apply(to fleet: Fleet) -> Fleet {
        var f = fleet
        for i in f.images.indices { f.images[i].customizationDigest = imageDigests[f.images[i].name] }
        return f
    }
}

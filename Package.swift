// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "fleet",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "fleet", targets: ["fleet"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0")
    ],
    targets: [
        // libvirt's C API, headers only (not linked: CLibraryLoader loads libvirt.so.0); imported only by `Libvirt`.
        .systemLibrary(name: "CLibvirt", path: "Modules/CLibvirt", providers: [.apt(["libvirt-dev"])]),
        // libvirt-qemu (virDomainQemuAgentCommand: talking to qemu-guest-agent), headers only; imported only by `Libvirt`.
        .systemLibrary(name: "CLibvirtQemu", path: "Modules/CLibvirtQemu", providers: [.apt(["libvirt-dev"])]),
        // libguestfs's C API, headers only (not linked: CLibraryLoader loads libguestfs.so.0); imported only by `Guestfs`.
        .systemLibrary(name: "CGuestfs", path: "Modules/CGuestfs", providers: [.apt(["libguestfs-dev"])]),
        // dlopens libvirt, libvirt-qemu and libguestfs when a command first needs them, and defines each C function
        // fleet calls from them (the list: Sources/CLibraryLoader/symbols.h) as a jump through a pointer it fills then;
        // so validate and schema run without them. Imported only by `Libvirt` and `Guestfs`.
        .target(name: "CLibraryLoader"),
        // libxcrypt's crypt_r, for SHA-512 crypt password hashes (`$6$`) written into guests; imported only by `FleetImages`.
        .systemLibrary(name: "CCrypt", path: "Modules/CCrypt", providers: [.apt(["libcrypt-dev"])]),

        // Desired and live state as values, units, names, and the rules the loader, mapping and planner share.
        // No I/O, no dependencies.
        .target(name: "FleetModel"),
        // YAML manifests -> FleetModel, references resolved, with file:line:column diagnostics and the JSON Schema.
        .target(name: "FleetManifest", dependencies: ["FleetModel", "Yams"]),
        // Typed libvirt XML documents (`DomainXML`, `NetworkXML`, …): parse and deterministic render. No C, no model.
        .target(name: "LibvirtXML"),
        // The model <-> libvirt XML: fresh renders, patches of existing objects, live XML read back, export. Pure.
        .target(name: "FleetMapping", dependencies: ["FleetModel", "LibvirtXML"]),
        // The Swift binding to libvirt: handles, typed errors, bulk reads. The only importer of CLibvirt.
        .target(name: "Libvirt", dependencies: ["CLibvirt", "CLibvirtQemu", "CLibraryLoader"]),
        // The Swift binding to libguestfs for image customization. The only importer of CGuestfs.
        .target(name: "Guestfs", dependencies: ["CGuestfs", "CLibraryLoader"]),
        // Image sources, checksums, format detection, customization (libguestfs) and cloud-init ISO seeds.
        .target(
            name: "FleetImages",
            dependencies: [
                "FleetModel", "Guestfs", "CCrypt", .product(name: "Crypto", package: "swift-crypto")
            ]),
        // The pure planner, the Plan value (each change carries its specs), its text rendering and saved plans.
        // Cannot import Libvirt: the compiler proves it does no I/O.
        .target(name: "FleetPlanning", dependencies: ["FleetModel"]),
        // The pipeline (Session): host locks, the ledger, live-state and export reads, plans, and their execution
        // (scheduler and per-kind steps) through libvirt and libguestfs.
        .target(
            name: "FleetExecution",
            dependencies: [
                "FleetModel", "FleetMapping", "FleetPlanning", "Libvirt", "FleetImages"
            ]),
        // Subcommands, rendering and exit codes; a thin layer over the libraries.
        .target(
            name: "FleetCLI",
            dependencies: [
                "FleetModel", "FleetManifest", "FleetMapping", "FleetPlanning", "FleetExecution", "FleetImages", "Libvirt",
                .product(name: "ArgumentParser", package: "swift-argument-parser")
            ],
            plugins: ["BuildInfo"]),
        // Writes the git commit into FleetCLI before every build, for `fleet --version` (Plugins/BuildInfo).
        .plugin(name: "BuildInfo", capability: .buildTool()),
        // The `fleet` executable: just calls FleetCLI.
        .executableTarget(name: "fleet", dependencies: ["FleetCLI"]),
        // Benchmarks (`swift run -c release fleet-bench NAME`); figures go to docs/benchmarks.md.
        .executableTarget(
            name: "fleet-bench",
            dependencies: [
                "FleetModel", "FleetManifest", "FleetMapping", "FleetPlanning", "FleetExecution", "Libvirt"
            ], path: "Benchmarks/FleetBench"),

        // What the test targets share: the daemon's URI, unique names, golden files.
        .target(name: "FleetTestSupport", path: "Tests/FleetTestSupport"),
        .testTarget(name: "FleetModelTests", dependencies: ["FleetModel"]),
        .testTarget(
            name: "FleetManifestTests", dependencies: ["FleetTestSupport", "FleetManifest", "FleetModel"],
            resources: [.copy("Corpus")]),
        .testTarget(name: "LibvirtXMLTests", dependencies: ["LibvirtXML"]),
        .testTarget(name: "LibvirtTests", dependencies: ["FleetTestSupport", "Libvirt"], exclude: ["Fixtures"]),
        .testTarget(
            name: "FleetMappingTests", dependencies: ["FleetTestSupport", "FleetMapping", "FleetModel", "LibvirtXML", "FleetManifest"]),
        .testTarget(name: "FleetPlanningTests", dependencies: ["FleetPlanning", "FleetModel", "FleetManifest", "FleetMapping"]),
        .testTarget(name: "FleetImagesTests", dependencies: ["FleetImages", "Guestfs", "FleetModel"]),
        .testTarget(
            name: "FleetExecutionTests",
            dependencies: [
                "FleetTestSupport",
                "FleetExecution", "FleetPlanning", "FleetManifest", "FleetModel", "FleetMapping", "Libvirt", "Guestfs", "FleetImages"
            ]),
        .testTarget(
            name: "FleetCLITests", dependencies: ["FleetTestSupport", "FleetCLI", "FleetPlanning", "Yams"],
            exclude: ["Golden", "Plan", "Export"])
    ]
)

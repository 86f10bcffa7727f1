/// The parts of libvirt's storage pool XML (formatstorage.html) that fleet manages or shows.
public struct StoragePoolXML: Hashable, Sendable {
    /// dir | logical | netfs | …
    public var type: String
    public var name: String
    public var uuid: String?
    /// Sizes in bytes; present in XML libvirt returns, never rendered by fleet.
    public var capacity: UInt64?
    public var allocation: UInt64?
    public var available: UInt64?
    public var source: Source
    public var targetPath: String?
    public var permissions: Permissions?

    public init(
        type: String, name: String, uuid: String? = nil, capacity: UInt64? = nil, allocation: UInt64? = nil,
        available: UInt64? = nil, source: Source = Source(), targetPath: String? = nil, permissions: Permissions? = nil
    ) {
        self.type = type
        self.name = name
        self.uuid = uuid
        self.capacity = capacity
        self.allocation = allocation
        self.available = available
        self.source = source
        self.targetPath = targetPath
        self.permissions = permissions
    }

    public struct Source: Hashable, Sendable {
        /// `<device path=>` entries (logical: physical volumes).
        public var devices: [String]
        /// `<name>`: the volume group of a logical pool.
        public var name: String?
        /// `<host name=>`: the NFS server of a netfs pool.
        public var hostName: String?
        /// `<dir path=>`: the exported directory of a netfs pool.
        public var dirPath: String?
        /// `<format type=>`: lvm2, nfs, auto, …
        public var format: String?
        /// Every `<host name= port=>` as `name` or `name:port` (rbd, gluster, iscsi may list several); the first is `hostName`.
        public var hosts: [String]
        /// `<adapter>` of a scsi pool: its `name=` (`scsi_host0`), or `fc_host` with its `wwpn=`, as text.
        public var adapter: String?
        /// `<source protocol=>` (netfs: nfs version protocol), `<initiator><iqn name=>` (iscsi-direct).
        public var initiator: String?
        public init(
            devices: [String] = [], name: String? = nil, hostName: String? = nil, dirPath: String? = nil, format: String? = nil,
            hosts: [String] = [], adapter: String? = nil, initiator: String? = nil
        ) {
            self.devices = devices
            self.name = name
            self.hostName = hostName
            self.dirPath = dirPath
            self.format = format
            self.hosts = hosts
            self.adapter = adapter
            self.initiator = initiator
        }
        public var isEmpty: Bool {
            devices.isEmpty && name == nil && hostName == nil && dirPath == nil && format == nil && hosts.isEmpty && adapter == nil
                && initiator == nil
        }
    }

    public struct Permissions: Hashable, Sendable {
        public var mode: String?
        public var owner: String?
        public var group: String?
        public var label: String?
        public init(mode: String? = nil, owner: String? = nil, group: String? = nil, label: String? = nil) {
            self.mode = mode
            self.owner = owner
            self.group = group
            self.label = label
        }
    }

    public init(xml: String) throws { try self.init(element: XElement.parse(xml)) }

    public init(element r: XElement) throws {
        try r.expectRoot("pool")
        type = try r.require("type", r["type"])
        name = try r.require("<name>", r.childText("name"))
        uuid = r.childText("uuid")
        capacity = try r.child("capacity").map { try XMLSize.bytes($0, defaultUnit: "bytes") }
        allocation = try r.child("allocation").map { try XMLSize.bytes($0, defaultUnit: "bytes") }
        available = try r.child("available").map { try XMLSize.bytes($0, defaultUnit: "bytes") }
        let s = r.child("source")
        let hosts = s?.all("host").compactMap { h in h["name"].map { $0 + (h["port"].map { ":" + $0 } ?? "") } } ?? []
        let adapter = s?.child("adapter").map { a -> String in
            if let n = a["name"] { return n }
            if let w = a["wwpn"] { return "\(a["type"] ?? "fc_host") wwnn=\(a["wwnn"] ?? "?") wwpn=\(w)" }
            if let p = a.child("parentaddr")?.child("address") {
                return
                    "scsi_host \(p["domain"] ?? "0"):\(p["bus"] ?? "0"):\(p["slot"] ?? "0").\(p["function"] ?? "0") unique_id=\(a.child("parentaddr")?["unique_id"] ?? "?")"
            }
            return a["type"] ?? "adapter"
        }
        source = Source(
            devices: s?.all("device").compactMap { $0["path"] } ?? [], name: s?.childText("name"),
            hostName: s?.child("host")?["name"], dirPath: s?.child("dir")?["path"], format: s?.child("format")?["type"],
            hosts: hosts, adapter: adapter, initiator: s?.at("initiator", "iqn")?["name"])
        targetPath = r.at("target", "path").map { $0.text.trimmedXMLSpace() }
        permissions = r.at("target", "permissions").map {
            Permissions(
                mode: $0.childText("mode"), owner: $0.childText("owner"), group: $0.childText("group"), label: $0.childText("label"))
        }
    }

    public func xml() -> String { element().render() }

    public func element() -> XElement {
        var r = XElement("pool", [("type", type)])
        r.addText("name", name)
        r.addText("uuid", uuid)
        r.addText("capacity", capacity.map(String.init), [("unit", "bytes")])
        r.addText("allocation", allocation.map(String.init), [("unit", "bytes")])
        r.addText("available", available.map(String.init), [("unit", "bytes")])
        if !source.isEmpty {
            var s = XElement("source")
            if let h = source.hostName { s.children.append(XElement("host", [("name", h)])) }
            if let d = source.dirPath { s.children.append(XElement("dir", [("path", d)])) }
            for d in source.devices { s.children.append(XElement("device", [("path", d)])) }
            s.addText("name", source.name)
            if let f = source.format { s.children.append(XElement("format", [("type", f)])) }
            r.children.append(s)
        }
        if targetPath != nil || permissions != nil {
            var t = XElement("target")
            t.addText("path", targetPath)
            if let p = permissions {
                var pe = XElement("permissions")
                pe.addText("mode", p.mode)
                pe.addText("owner", p.owner)
                pe.addText("group", p.group)
                pe.addText("label", p.label)
                t.children.append(pe)
            }
            r.children.append(t)
        }
        return r
    }
}

/// The parts of libvirt's storage volume XML that fleet manages or shows.
public struct StorageVolumeXML: Hashable, Sendable {
    public var type: String?
    public var name: String
    public var key: String?
    /// Bytes.
    public var capacity: UInt64
    public var allocation: UInt64?
    public var targetPath: String?
    /// `<target><format type=>`: qcow2, raw, …
    public var format: String?
    public var backingPath: String?
    public var backingFormat: String?
    /// `<target><permissions><mode>`: octal file mode, e.g. `0600`.
    public var mode: String?

    public init(
        type: String? = nil, name: String, key: String? = nil, capacity: UInt64, allocation: UInt64? = nil,
        targetPath: String? = nil, format: String? = nil, backingPath: String? = nil, backingFormat: String? = nil,
        mode: String? = nil
    ) {
        self.type = type
        self.name = name
        self.key = key
        self.capacity = capacity
        self.allocation = allocation
        self.targetPath = targetPath
        self.format = format
        self.backingPath = backingPath
        self.backingFormat = backingFormat
        self.mode = mode
    }

    public init(xml: String) throws { try self.init(element: XElement.parse(xml)) }

    public init(element r: XElement) throws {
        try r.expectRoot("volume")
        type = r["type"]
        name = try r.require("<name>", r.childText("name"))
        key = r.childText("key")
        guard let c = r.child("capacity") else { throw XMLError("<volume> lacks <capacity>") }
        capacity = try XMLSize.bytes(c, defaultUnit: "bytes")
        allocation = try r.child("allocation").map { try XMLSize.bytes($0, defaultUnit: "bytes") }
        targetPath = r.at("target", "path").map { $0.text.trimmedXMLSpace() }
        format = r.at("target", "format")?["type"]
        backingPath = r.at("backingStore", "path").map { $0.text.trimmedXMLSpace() }
        backingFormat = r.at("backingStore", "format")?["type"]
        mode = r.at("target", "permissions")?.childText("mode")
    }

    public func xml() -> String { element().render() }

    public func element() -> XElement {
        var r = XElement("volume", [("type", type)])
        r.addText("name", name)
        r.addText("key", key)
        r.addText("capacity", String(capacity), [("unit", "bytes")])
        r.addText("allocation", allocation.map(String.init), [("unit", "bytes")])
        if targetPath != nil || format != nil || mode != nil {
            var t = XElement("target")
            t.addText("path", targetPath)
            if let f = format { t.children.append(XElement("format", [("type", f)])) }
            if let m = mode {
                var pe = XElement("permissions")
                pe.addText("mode", m)
                t.children.append(pe)
            }
            r.children.append(t)
        }
        if backingPath != nil || backingFormat != nil {
            var b = XElement("backingStore")
            b.addText("path", backingPath)
            if let f = backingFormat { b.children.append(XElement("format", [("type", f)])) }
            r.children.append(b)
        }
        return r
    }
}

/// The parts of a domain snapshot's XML (formatsnapshot.html) that fleet shows.
public struct DomainSnapshotXML: Hashable, Sendable {
    public var name: String
    public var description: String?
    public var state: String?
    /// Seconds since the epoch.
    public var creationTime: Int64?
    public var parent: String?

    public init(name: String, description: String? = nil, state: String? = nil, creationTime: Int64? = nil, parent: String? = nil) {
        self.name = name
        self.description = description
        self.state = state
        self.creationTime = creationTime
        self.parent = parent
    }

    public init(xml: String) throws { try self.init(element: XElement.parse(xml)) }

    public init(element r: XElement) throws {
        try r.expectRoot("domainsnapshot")
        name = try r.require("<name>", r.childText("name"))
        description = r.child("description")?.text
        state = r.childText("state")
        creationTime = XMLNumber.parse(r.childText("creationTime"))
        parent = r.at("parent", "name").map { $0.text.trimmedXMLSpace() }
    }

    public func xml() -> String { element().render() }

    public func element() -> XElement {
        var r = XElement("domainsnapshot")
        r.addText("name", name)
        r.addText("description", description)
        r.addText("state", state)
        if let p = parent { r.children.append(XElement("parent", children: [XElement("name", text: p)])) }
        r.addText("creationTime", creationTime.map(String.init))
        return r
    }
}

/// The parts of a node device's XML (formatnode.html) fleet needs for passthrough.
public struct NodeDeviceXML: Hashable, Sendable {
    public var name: String
    public var path: String?
    public var parent: String?
    public var driver: String?
    public var capability: Capability
    /// A PCI device's `<capability type='pci'><iommuGroup number=>` and the functions it lists; nil when absent
    /// (the kernel's IOMMU is off).
    public var iommuGroup: IOMMUGroup?

    /// An IOMMU group: its number and its members' PCI addresses (domain, bus, slot, function).
    public struct IOMMUGroup: Hashable, Sendable {
        public var number: Int
        public var members: [PCIFunction]
        public init(number: Int, members: [PCIFunction] = []) {
            self.number = number
            self.members = members
        }
    }

    public struct PCIFunction: Hashable, Sendable {
        public var domain: UInt16
        public var bus: UInt8
        public var slot: UInt8
        public var function: UInt8
        public init(domain: UInt16, bus: UInt8, slot: UInt8, function: UInt8) {
            self.domain = domain
            self.bus = bus
            self.slot = slot
            self.function = function
        }
    }

    public enum Capability: Hashable, Sendable {
        case pci(domain: UInt16, bus: UInt8, slot: UInt8, function: UInt8, product: ID, vendor: ID)
        case usbDevice(bus: Int, device: Int, product: ID, vendor: ID)
        /// Any other capability: its type (`net`, `usb`, `scsi_host`, …).
        case other(String)
    }

    /// A vendor or product: numeric id and the name from the id database.
    public struct ID: Hashable, Sendable {
        public var id: UInt16
        public var name: String?
        public init(id: UInt16, name: String? = nil) {
            self.id = id
            self.name = name
        }
    }

    public init(name: String, path: String? = nil, parent: String? = nil, driver: String? = nil, capability: Capability) {
        self.name = name
        self.path = path
        self.parent = parent
        self.driver = driver
        self.capability = capability
    }

    public init(xml: String) throws { try self.init(element: XElement.parse(xml)) }

    public init(element r: XElement) throws {
        try r.expectRoot("device")
        name = try r.require("<name>", r.childText("name"))
        path = r.childText("path")
        parent = r.childText("parent")
        driver = r.at("driver", "name").map { $0.text.trimmedXMLSpace() }
        guard let cap = r.child("capability"), let type = cap["type"] else { throw XMLError("<device> lacks <capability type=>") }
        func id(_ el: String) throws -> ID {
            guard let e = cap.child(el), let v: UInt16 = XMLNumber.parse(e["id"]) else {
                throw XMLError("<capability type='\(type)'> lacks a valid <\(el) id=>")
            }
            let n = e.text.trimmedXMLSpace()
            return ID(id: v, name: n.isEmpty ? nil : n)
        }
        switch type {
        case "pci":
            guard let d: UInt16 = XMLNumber.parse(cap.childText("domain")), let b: UInt8 = XMLNumber.parse(cap.childText("bus")),
                let s: UInt8 = XMLNumber.parse(cap.childText("slot")), let f: UInt8 = XMLNumber.parse(cap.childText("function"))
            else {
                throw XMLError("<capability type='pci'>: bad domain/bus/slot/function")
            }
            capability = .pci(domain: d, bus: b, slot: s, function: f, product: try id("product"), vendor: try id("vendor"))
            if let g = cap.child("iommuGroup") {
                guard let n: Int = XMLNumber.parse(g["number"]) else { throw XMLError("<iommuGroup> lacks a valid number=") }
                let members = try g.all("address").map { a -> PCIFunction in
                    guard let d: UInt16 = XMLNumber.parse(a["domain"]), let b: UInt8 = XMLNumber.parse(a["bus"]),
                        let s: UInt8 = XMLNumber.parse(a["slot"]), let f: UInt8 = XMLNumber.parse(a["function"])
                    else { throw XMLError("<iommuGroup number='\(n)'>: bad <address>") }
                    return PCIFunction(domain: d, bus: b, slot: s, function: f)
                }
                iommuGroup = IOMMUGroup(number: n, members: members)
            }
        case "usb_device":
            guard let b: Int = XMLNumber.parse(cap.childText("bus")), let d: Int = XMLNumber.parse(cap.childText("device")) else {
                throw XMLError("<capability type='usb_device'>: bad bus/device")
            }
            capability = .usbDevice(bus: b, device: d, product: try id("product"), vendor: try id("vendor"))
        default:
            capability = .other(type)
        }
    }

    public func xml() -> String { element().render() }

    public func element() -> XElement {
        var r = XElement("device")
        r.addText("name", name)
        r.addText("path", path)
        r.addText("parent", parent)
        if let d = driver { r.children.append(XElement("driver", children: [XElement("name", text: d)])) }
        func idEl(_ n: String, _ v: ID) -> XElement { XElement(n, [("id", XMLNumber.hex(v.id, width: 4))], text: v.name ?? "") }
        switch capability {
        case .pci(let d, let b, let s, let f, let p, let v):
            var children = [
                XElement("domain", text: String(d)), XElement("bus", text: String(b)), XElement("slot", text: String(s)),
                XElement("function", text: String(f)), idEl("product", p), idEl("vendor", v)
            ]
            if let g = iommuGroup {
                children.append(
                    XElement(
                        "iommuGroup", [("number", String(g.number))],
                        children: g.members.map { m in
                            XElement(
                                "address",
                                [
                                    ("domain", XMLNumber.hex(m.domain, width: 4)), ("bus", XMLNumber.hex(m.bus, width: 2)),
                                    ("slot", XMLNumber.hex(m.slot, width: 2)), ("function", XMLNumber.hex(m.function, width: 1))
                                ])
                        }))
            }
            r.children.append(XElement("capability", [("type", "pci")], children: children))
        case .usbDevice(let b, let d, let p, let v):
            r.children.append(
                XElement(
                    "capability", [("type", "usb_device")],
                    children: [
                        XElement("bus", text: String(b)), XElement("device", text: String(d)), idEl("product", p), idEl("vendor", v)
                    ]))
        case .other(let t):
            r.children.append(XElement("capability", [("type", t)]))
        }
        return r
    }
}

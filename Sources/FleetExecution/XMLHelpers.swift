import FleetModel
import LibvirtXML

// Kept apart from files importing the binding: both modules define `Domain`.

func liveSnapshot(fromXML xml: String) throws -> LiveSnapshot {
    let doc = try DomainSnapshot(xml: xml)
    return LiveSnapshot(name: doc.name, fleet: LiveSnapshot.fleet(fromDescription: doc.description))
}

import FleetModel
import LibvirtXML

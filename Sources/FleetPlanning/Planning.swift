import FleetModel

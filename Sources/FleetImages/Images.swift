import FleetModel
import Guestfs

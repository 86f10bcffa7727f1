import FleetCLI

FleetCommand.runMain()

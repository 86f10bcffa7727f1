import FleetCLI
FleetCommand.main()

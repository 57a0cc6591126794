"""The pure domain of the logistics service: journeys, routing and calendar rules, with no I/O."""

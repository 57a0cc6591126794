"""SQLite storage behind the service's ports. Implements ``logistics.services.ports``; holds no business rules."""

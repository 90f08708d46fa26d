"""Pure business rules: no database, no web framework."""

"""HTTP API: thin Litestar controllers and their msgspec schemas, one module per area."""

"""JSON APIs: one Blueprint per resource, all under /api, described by /api/openapi.json."""

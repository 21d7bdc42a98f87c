"""Background listeners and emulators for the embedded run, one module per area (`@background`)."""

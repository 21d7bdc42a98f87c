"""Extra `python -m backend` commands, one module per area (`@backend.cli.command`)."""

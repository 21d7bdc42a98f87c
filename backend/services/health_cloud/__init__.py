"""The provincial health cloud's ledger and uploads (HC-1..HC-9): `ledger` decides which studies go and
keeps their state, `upload` registers and sends them through the outbox from scheduled jobs."""

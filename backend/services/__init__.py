"""Use cases, one package per area; the pieces every area shares sit at this top level.

Areas: `orders`, `patient_flow`, `reporting`, `cockpit`, `admin`, `imaging`, `uploads`. An area uses the
shared pieces and the domain, and another area only through that area's public functions (import-linter
contracts in pyproject.toml keep this true).

Shared: `base` (the service container and the unit of work), `timeline` (the exam event timeline and the one
function through which a procedure status changes), `audit`, `settings_store`, `counters`, `auth`.

Two kinds of public function, told apart by their first parameter:
- `fn(svc: Services, ...)` is a use case: it opens and commits its own transaction;
- `fn(tx: Tx, ...)` is a step: it runs inside the caller's transaction and never commits.
"""

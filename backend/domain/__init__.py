"""Pure business rules of RadOps: value types, state machines and decisions (standard library only)."""

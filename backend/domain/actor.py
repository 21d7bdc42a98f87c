"""Who is acting: a staff user, a system (API key) or the system itself; services check it."""

from __future__ import annotations

from dataclasses import dataclass, field

from backend.domain.permissions import Perm, require


@dataclass(frozen=True, slots=True)
class Actor:
    """The caller of a service: `kind` is "user", "api_key" or "system"."""

    kind: str
    id: int | None
    name: str
    perms: frozenset[str] = field(default_factory=frozenset)
    roles: frozenset[str] = field(default_factory=frozenset)
    department_id: int | None = None
    ip: str = ""

    def require(self, perm: Perm) -> None:
        require(self.perms, perm)

    def can(self, perm: Perm) -> bool:
        return perm.value in self.perms

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.id}" if self.id is not None else self.kind


SYSTEM = Actor(kind="system", id=None, name="系统", perms=frozenset(p.value for p in Perm))

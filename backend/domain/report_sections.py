"""Report sections as data: a template lists sections, a version holds {section key: value}.

A template section is `{"key", "title", "kind", "default", ...}`; `kind` defaults to "text" (free text,
the value is a string). Other kinds (a structured lung-nodule section for LN-9, later) register a
SectionKind with `register_kind`: how to check a value and how to render it as text for print. The
core never changes when a kind is added: values of any kind are JSON and travel through as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from backend.domain.errors import InvalidInput

MAX_TEXT: Final = 20000


@dataclass(frozen=True, slots=True)
class SectionKind:
    """How one kind of section checks its value and renders it as printable text."""

    name: str
    clean: Callable[[Mapping[str, Any], Any], Any]
    as_text: Callable[[Mapping[str, Any], Any], str]
    empty: Callable[[Any], bool]


def _clean_text(section: Mapping[str, Any], value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"“{section.get('title', section['key'])}”必须是文本", code="invalid_section")
    if len(value) > MAX_TEXT:
        raise InvalidInput(f"“{section.get('title', section['key'])}”不能超过 {MAX_TEXT} 字",
                           code="section_too_long")
    return value.replace("\r\n", "\n")


_KINDS: dict[str, SectionKind] = {
    "text": SectionKind("text", _clean_text, lambda _s, v: str(v or ""), lambda v: not str(v or "").strip()),
}


def register_kind(kind: SectionKind) -> None:
    """Add a section kind (e.g. a structured section); later registrations replace earlier ones."""
    _KINDS[kind.name] = kind


def kind_of(section: Mapping[str, Any]) -> SectionKind:
    name = str(section.get("kind", "text"))
    try:
        return _KINDS[name]
    except KeyError:
        raise InvalidInput(f"未知的报告段落类型：{name}", code="unknown_section_kind") from None


def initial_sections(template: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The values a new report starts with: each section's default."""
    return {s["key"]: s.get("default", "" if s.get("kind", "text") == "text" else None) for s in template}


def clean_sections(template: Sequence[Mapping[str, Any]], values: Mapping[str, Any],
                   previous: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Check submitted values against the template; unknown keys are refused, missing ones kept."""
    known = {s["key"]: s for s in template}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise InvalidInput(f"报告模板中没有这些段落：{'、'.join(unknown)}", code="unknown_section")
    out = dict(previous or initial_sections(template))
    for key, value in values.items():
        out[key] = kind_of(known[key]).clean(known[key], value)
    return out


def missing_required(template: Sequence[Mapping[str, Any]], values: Mapping[str, Any]) -> list[str]:
    """Titles of required sections that are still empty (all sections are required unless optional)."""
    return [s.get("title", s["key"]) for s in template
            if not s.get("optional") and kind_of(s).empty(values.get(s["key"]))]


def printable(template: Sequence[Mapping[str, Any]], values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(title, text) for each section in template order, for print and preview."""
    return [(s.get("title", s["key"]), kind_of(s).as_text(s, values.get(s["key"]))) for s in template]


# Structured kinds register themselves on import; importing them here makes every caller of this module see
# them (the import is last: those modules import SectionKind and register_kind from here).
from backend.domain import lung_nodule_section as _lung_nodule_section  # noqa: E402,F401

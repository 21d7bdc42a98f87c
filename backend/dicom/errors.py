"""Why a file could not be made into DICOM: stable codes and a Chinese reason the ledger shows."""

from __future__ import annotations

from backend.domain.errors import InvalidInput


class UnreadableFile(InvalidInput):
    """The file is corrupt, cut short or empty."""

    code = "unreadable_file"


class UnsupportedFile(InvalidInput):
    """The file is readable but of a kind or an encoding we do not convert."""

    code = "unsupported_file"

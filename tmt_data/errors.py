"""Errors of the data layer. Every message names the file, the URL or the dataset."""

from __future__ import annotations

from tmt_core.errors import TmtError

__all__ = [
    "DataError",
    "IdxFormatError",
    "ChecksumError",
    "DownloadError",
    "DataNotFoundError",
]


class DataError(TmtError):
    """Base class of the data layer's errors."""


class IdxFormatError(DataError, ValueError):
    """A file is not a valid IDX file: wrong magic number, unknown type code, truncated."""


class ChecksumError(DataError, ValueError):
    """A file's SHA-256 differs from the published one."""


class DownloadError(DataError, OSError):
    """A download failed: HTTP error, network error, body shorter than announced.

    ``unreachable`` is true when the host could not be reached at all, so that the other
    files need not be tried from it.
    """

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


class DataNotFoundError(DataError, FileNotFoundError):
    """No source could provide a dataset; the message lists every source tried and why."""

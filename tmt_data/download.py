"""Verified, atomic downloads.

A file is streamed into a temporary file in the destination folder while its SHA-256 is
computed; only when the byte count and the digest are right is it moved into place with
``os.replace``. Whatever goes wrong (HTTP error, network error, short body, wrong digest,
Ctrl-C, full disk) the temporary file is removed, so the final name only ever holds a file
that passed its check.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

from .errors import ChecksumError, DownloadError

__all__ = ["sha256_of", "download_verified", "DEFAULT_TIMEOUT", "USER_AGENT"]

log = logging.getLogger("tmt_data")

DEFAULT_TIMEOUT = 30.0  # seconds without progress before a mirror is given up
USER_AGENT = "tmt-data/0.1 (tiny micro torch; +https://pypi.org/project/tiny-micro-torch)"
_CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def download_verified(
    url: str,
    destination: Path,
    *,
    sha256: str,
    size: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Download ``url`` to ``destination`` if and only if its SHA-256 is ``sha256``.

    ``progress(n)`` is called after each block of ``n`` bytes is written. Raises
    :class:`DownloadError` (HTTP or network error, body shorter than announced) or
    :class:`ChecksumError` (naming the file and both digests); nothing is left behind, not
    even the destination's folder when this call made it.
    """
    made_folder = not destination.parent.exists()
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        dir=destination.parent, prefix=f".{destination.name}.", suffix=".part"
    )
    try:
        with os.fdopen(handle, "wb") as out:
            received, announced, actual = _stream(url, out, timeout, progress)
            out.flush()
            os.fsync(out.fileno())  # the bytes are on disk before the name points at them
        expected_size = announced if announced is not None else size
        if expected_size is not None and received < expected_size:
            raise DownloadError(
                f"download of {url} ended early: received {received} of {expected_size} bytes"
            )
        if actual != sha256:
            raise ChecksumError(
                f"{destination.name} downloaded from {url} has SHA-256 {actual}, expected "
                f"{sha256} ({received} bytes received); the file was discarded"
            )
        os.replace(temporary, destination)
    except BaseException:  # Ctrl-C included: never leave a partial file behind
        Path(temporary).unlink(missing_ok=True)
        if made_folder and not any(destination.parent.iterdir()):
            destination.parent.rmdir()
        raise
    log.info("downloaded %s (%d bytes, SHA-256 verified) to %s", url, received, destination)
    return destination


def _stream(
    url: str, out, timeout: float, progress: Callable[[int], None] | None
) -> tuple[int, int | None, str]:
    """Copy the body of ``url`` into ``out``; returns (bytes, Content-Length, SHA-256)."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    digest = hashlib.sha256()
    received = 0
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            announced = int(length) if length and length.isdigit() else None
            while True:
                block = response.read(_CHUNK)
                if not block:
                    break
                out.write(block)
                digest.update(block)
                received += len(block)
                if progress is not None:
                    progress(len(block))
    except urllib.error.HTTPError as exc:
        raise DownloadError(f"download of {url} failed: HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:  # name resolution, refused connection: the host is out
        raise DownloadError(f"download of {url} failed: {exc.reason}", unreachable=True) from exc
    except (OSError, http.client.HTTPException) as exc:  # timeouts, resets, protocol errors
        raise DownloadError(
            f"download of {url} failed after {received} bytes: {exc!r}",
            unreachable=isinstance(exc, TimeoutError) and received == 0,
        ) from exc
    return received, announced, digest.hexdigest()

"""The IDX file format of MNIST and Fashion-MNIST, read and written with NumPy.

An IDX file is a 4-byte magic number ``0x0000TTNN`` (``TT`` the element type, ``NN`` the
number of dimensions), ``NN`` big-endian uint32 sizes, then the elements in C order, big
endian. Image files have magic 2051 (uint8, 3 dims), label files 2049 (uint8, 1 dim). Files
may be gzip-compressed; the reader recognises gzip by its first two bytes, not by the name.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path
import numpy as np

from .errors import IdxFormatError

__all__ = ["read_idx", "write_idx", "IDX_IMAGES", "IDX_LABELS", "IDX_DTYPES"]

IDX_IMAGES = 0x00000803  # 2051: uint8, 3 dims (count, rows, columns)
IDX_LABELS = 0x00000801  # 2049: uint8, 1 dim (count)

# Element type code -> NumPy dtype (IDX stores multi-byte elements big endian).
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20  # compressed bytes fed to zlib per step: bounds the copies of unused input


def _describe_magic(magic: int) -> str:
    code, ndim = (magic >> 8) & 0xFF, magic & 0xFF
    dtype = IDX_DTYPES.get(code)
    kind = {IDX_IMAGES: " (images)", IDX_LABELS: " (labels)"}.get(magic, "")
    name = dtype.name if dtype is not None else f"unknown type 0x{code:02X}"
    return f"{magic} = 0x{magic:08X}{kind}: {name}, {ndim} dims"


class _Inflater:
    """Decompresses a whole gzip file into caller buffers without one large intermediate."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._pos = 0
        self._pending: bytes | memoryview = b""
        self._zlib = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip header and CRC

    @property
    def finished(self) -> bool:
        """True once the gzip trailer (CRC-32 and length) was read and checked."""
        return self._zlib.eof

    def readinto(self, out: memoryview) -> int:
        filled = 0
        while filled < len(out) and not self._zlib.eof:
            if not self._pending and self._pos < len(self._data):
                self._pending = self._data[self._pos : self._pos + _CHUNK]
                self._pos += len(self._pending)
            # With input exhausted, an empty call flushes what zlib still holds.
            piece = self._zlib.decompress(self._pending, len(out) - filled)
            self._pending = self._zlib.unconsumed_tail
            if not piece and not self._pending and self._pos >= len(self._data):
                break
            out[filled : filled + len(piece)] = piece
            filled += len(piece)
        return filled


def read_idx(path: str | os.PathLike[str], *, expect_magic: int | None = None) -> np.ndarray:
    """Read an IDX file (raw or gzip) into a writable array in native byte order.

    ``expect_magic`` (e.g. :data:`IDX_IMAGES`) rejects a file of another kind. A file shorter
    or longer than its header announces raises :class:`IdxFormatError` naming the file and
    both byte counts.
    """
    path = Path(path)
    with open(path, "rb") as file:
        data = file.read()
    if data[:2] == _GZIP_MAGIC:
        return _read_gzip(path, data, expect_magic)
    return _read_raw(path, memoryview(data), expect_magic)


def _parse_header(path: Path, head: bytes, expect_magic: int | None) -> tuple[np.dtype, int]:
    """The element dtype and number of dimensions from the 4-byte magic number."""
    if len(head) < 4:
        raise IdxFormatError(
            f"{path}: truncated IDX file: expected at least 4 bytes (the magic number), "
            f"found {len(head)}"
        )
    magic = int.from_bytes(head[:4], "big")
    code, ndim = (magic >> 8) & 0xFF, magic & 0xFF
    if magic >> 16 != 0 or code not in IDX_DTYPES or ndim == 0:
        known = ", ".join(f"0x{c:02X} {d.name}" for c, d in IDX_DTYPES.items())
        raise IdxFormatError(
            f"{path}: not an IDX file: magic number {_describe_magic(magic)} (an IDX magic is "
            f"0x0000TTNN with TT one of {known} and NN >= 1 dimensions; MNIST images are "
            f"{IDX_IMAGES}, labels {IDX_LABELS})"
        )
    if expect_magic is not None and magic != expect_magic:
        raise IdxFormatError(
            f"{path}: wrong IDX magic number {_describe_magic(magic)}; expected "
            f"{_describe_magic(expect_magic)}"
        )
    return IDX_DTYPES[code], ndim


def _shape_and_size(path: Path, dims_bytes: bytes, ndim: int, dtype: np.dtype) -> tuple:
    header = 4 + 4 * ndim
    if len(dims_bytes) < 4 * ndim:
        raise IdxFormatError(
            f"{path}: truncated IDX file: expected {header} header bytes for {ndim} "
            f"dimensions, found {4 + len(dims_bytes)}"
        )
    shape = tuple(int(d) for d in np.frombuffer(dims_bytes, dtype=">u4", count=ndim))
    return shape, header, header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize


def _size_error(
    path: Path, shape: tuple, dtype: np.dtype, expected: int, actual: int, where: str
) -> IdxFormatError:
    problem = "truncated IDX file" if actual < expected else "IDX file longer than its header says"
    return IdxFormatError(
        f"{path}: {problem}: the header announces shape {shape} {dtype.name}, i.e. "
        f"{expected} bytes in all, but {where} {actual} bytes"
    )


def _read_raw(path: Path, data: memoryview, expect_magic: int | None) -> np.ndarray:
    dtype, ndim = _parse_header(path, bytes(data[:4]), expect_magic)
    shape, header, expected = _shape_and_size(path, bytes(data[4 : 4 + 4 * ndim]), ndim, dtype)
    if len(data) != expected:
        raise _size_error(path, shape, dtype, expected, len(data), "the file holds")
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=True)


def _read_gzip(path: Path, data: bytes, expect_magic: int | None) -> np.ndarray:
    inflater = _Inflater(data)
    try:
        head = bytearray(4)
        got = inflater.readinto(memoryview(head))
        dtype, ndim = _parse_header(path, bytes(head[:got]), expect_magic)
        dims = bytearray(4 * ndim)
        got = inflater.readinto(memoryview(dims))
        shape, header, expected = _shape_and_size(path, bytes(dims[:got]), ndim, dtype)
        array = np.empty(shape, dtype=dtype)
        filled = inflater.readinto(memoryview(array.reshape(-1).view(np.uint8)))
        if filled < array.nbytes:
            where = f"the gzip file ({len(data)} bytes) decompresses to"
            raise _size_error(path, shape, dtype, expected, header + filled, where)
        if inflater.readinto(memoryview(bytearray(1))):
            where = "the gzip file decompresses to at least"
            raise _size_error(path, shape, dtype, expected, expected + 1, where)
        if not inflater.finished:
            raise IdxFormatError(
                f"{path}: truncated gzip file: the data ends before the gzip trailer "
                f"({len(data)} bytes read; the CRC cannot be checked)"
            )
    except zlib.error as exc:
        raise IdxFormatError(f"{path}: corrupt gzip data: {exc}") from exc
    return array if dtype.itemsize == 1 else array.astype(dtype.newbyteorder("="))


def write_idx(
    path: str | os.PathLike[str], array: np.ndarray, *, compress: bool | None = None
) -> Path:
    """Write ``array`` as an IDX file; gzip-compressed when ``compress`` is true, or when it
    is ``None`` and the name ends in ``.gz``. The gzip header carries no name or time, so the
    same array always gives the same bytes (and SHA-256)."""
    path = Path(path)
    array = np.asarray(array)
    codes = {dtype.newbyteorder("="): code for code, dtype in IDX_DTYPES.items()}
    code = codes.get(array.dtype.newbyteorder("="))
    if code is None:
        names = ", ".join(d.name for d in IDX_DTYPES.values())
        raise IdxFormatError(f"{path}: IDX cannot store dtype {array.dtype} (it stores {names})")
    if not 1 <= array.ndim <= 255 or any(d >= 2**32 for d in array.shape):
        raise IdxFormatError(
            f"{path}: IDX cannot store shape {array.shape} (1 to 255 dims, each < 2**32)"
        )
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()
    if compress is None:
        compress = path.name.endswith(".gz")
    with open(path, "wb") as raw:
        if compress:
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as zipped:
                zipped.write(header)
                zipped.write(payload)
        else:
            raw.write(header)
            raw.write(payload)
    return path

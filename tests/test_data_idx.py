"""The IDX reader and writer: round trips, magic numbers, truncated and corrupt files."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from tmt_data import IDX_IMAGES, IDX_LABELS, IdxFormatError, read_idx, write_idx


@pytest.mark.parametrize("dtype", ["u1", "i1", ">i2", "<i2", "<i4", ">f4", "<f8"])
@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_round_trip_every_dtype(tmp_path, dtype, name):
    array = ((np.arange(2 * 3 * 5).reshape(2, 3, 5) - 7) * 3).astype(dtype)
    read = read_idx(write_idx(tmp_path / name, array))
    assert read.shape == array.shape
    assert read.dtype.isnative and read.dtype.kind == array.dtype.kind
    assert read.dtype.itemsize == array.dtype.itemsize
    np.testing.assert_array_equal(read, array)
    assert read.flags.writeable


def test_mnist_style_headers_and_gzip_detected_by_content(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (4, 28, 28), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1], dtype=np.uint8)
    write_idx(tmp_path / "images.raw", images, compress=True)  # gzip without a .gz name
    write_idx(tmp_path / "labels", labels)
    raw = (tmp_path / "labels").read_bytes()
    assert raw[:8] == bytes([0, 0, 8, 1, 0, 0, 0, 4])  # magic 2049, then the count
    unzipped = gzip.decompress((tmp_path / "images.raw").read_bytes())
    assert int.from_bytes(unzipped[:4], "big") == 2051
    read = read_idx(tmp_path / "images.raw", expect_magic=IDX_IMAGES)
    np.testing.assert_array_equal(read, images)
    np.testing.assert_array_equal(read_idx(tmp_path / "labels", expect_magic=IDX_LABELS), labels)


def test_gzip_output_is_deterministic(tmp_path):
    array = np.arange(100, dtype=np.uint8)
    first = write_idx(tmp_path / "a.gz", array).read_bytes()
    second = write_idx(tmp_path / "b.gz", array).read_bytes()
    assert first == second


def test_labels_file_where_images_expected_names_both_magics(tmp_path):
    path = write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(5, np.uint8))
    with pytest.raises(IdxFormatError) as info:
        read_idx(path, expect_magic=IDX_IMAGES)
    message = str(info.value)
    assert "train-labels-idx1-ubyte.gz" in message
    assert "2049" in message and "2051" in message


@pytest.mark.parametrize("head", [b"\x12\x34\x08\x01", b"\x00\x00\x07\x01", b"\x00\x00\x08\x00"])
def test_not_an_idx_file(tmp_path, head):
    path = tmp_path / "junk.idx"
    path.write_bytes(head + b"\x00\x00\x00\x01" + b"\x05")
    with pytest.raises(IdxFormatError, match="junk.idx: not an IDX file"):
        read_idx(path)


def test_truncated_raw_file_names_file_and_byte_counts(tmp_path):
    path = write_idx(tmp_path / "t10k-images-idx3-ubyte", np.ones((10, 28, 28), np.uint8))
    data = path.read_bytes()
    path.write_bytes(data[:1000])
    with pytest.raises(IdxFormatError) as info:
        read_idx(path)
    message = str(info.value)
    assert "t10k-images-idx3-ubyte" in message and "truncated" in message
    assert str(16 + 10 * 28 * 28) in message and "1000" in message


def test_truncated_gzip_payload(tmp_path):
    """A complete gzip stream whose payload is shorter than the header announces."""
    path = tmp_path / "short.gz"
    header = bytes([0, 0, 8, 3]) + np.array([10, 28, 28], ">u4").tobytes()
    path.write_bytes(gzip.compress(header + bytes(100), mtime=0))
    with pytest.raises(IdxFormatError) as info:
        read_idx(path)
    message = str(info.value)
    assert "short.gz" in message and "truncated" in message
    assert str(16 + 7840) in message and str(16 + 100) in message


def test_gzip_file_cut_in_the_middle(tmp_path):
    rng = np.random.default_rng(1)
    path = write_idx(tmp_path / "cut.gz", rng.integers(0, 256, (50, 28, 28), dtype=np.uint8))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(IdxFormatError, match=r"cut\.gz: truncated") as info:
        read_idx(path)
    assert str(16 + 50 * 784) in str(info.value)


def test_gzip_file_missing_only_its_trailer(tmp_path):
    path = write_idx(tmp_path / "trailer.gz", np.arange(64, dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-8])  # CRC-32 and length gone
    with pytest.raises(IdxFormatError, match="trailer.gz: truncated gzip file"):
        read_idx(path)


def test_corrupt_gzip_crc(tmp_path):
    path = write_idx(tmp_path / "crc.gz", np.arange(64, dtype=np.uint8))
    data = bytearray(path.read_bytes())
    data[-8] ^= 0xFF  # flip the stored CRC-32
    path.write_bytes(bytes(data))
    with pytest.raises(IdxFormatError, match="crc.gz: corrupt gzip data"):
        read_idx(path)


def test_file_longer_than_its_header(tmp_path):
    path = write_idx(tmp_path / "long.idx", np.arange(8, dtype=np.uint8))
    path.write_bytes(path.read_bytes() + b"extra")
    with pytest.raises(IdxFormatError, match="long.idx: IDX file longer than its header"):
        read_idx(path)


def test_header_cut_before_the_dimensions(tmp_path):
    path = tmp_path / "head.idx"
    path.write_bytes(bytes([0, 0, 8, 3, 0, 0]))
    with pytest.raises(IdxFormatError, match="head.idx: truncated IDX file: expected 16 header"):
        read_idx(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.idx"
    path.write_bytes(b"")
    with pytest.raises(IdxFormatError, match="empty.idx: truncated IDX file"):
        read_idx(path)


def test_writer_rejects_what_idx_cannot_store(tmp_path):
    with pytest.raises(IdxFormatError, match="cannot store dtype uint16"):
        write_idx(tmp_path / "x.idx", np.zeros(3, np.uint16))
    with pytest.raises(IdxFormatError, match=r"cannot store shape \(\)"):
        write_idx(tmp_path / "x.idx", np.uint8(3))

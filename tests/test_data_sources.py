"""Where datasets come from: data folder, cache, Debian folder, Keras cache, in that order;
the arrays the loaders return; the dataset catalog and ``tmt data``. No network: every file
is a small IDX file written here."""

from __future__ import annotations

import argparse
import hashlib
import shutil
from dataclasses import replace

import numpy as np
import pytest

from tmt_core import plugins
from tmt_core.errors import NotFoundError
from tmt_data import (
    DATASETS,
    DataNotFoundError,
    IdxDataset,
    IdxDatasetSpec,
    IdxFile,
    load_dataset,
    load_fashion_mnist,
    load_mnist,
    write_idx,
)
from tmt_data import mnist as mnist_module
from tmt_data import sources
from tmt_data.spec import ROLES

NAMES = mnist_module.FILE_NAMES  # the published gzip file name of each role
COUNTS = (20, 10)


def make_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "train_images": rng.integers(0, 256, (COUNTS[0], 28, 28), dtype=np.uint8),
        "train_labels": (np.arange(COUNTS[0]) % 10).astype(np.uint8),
        "test_images": rng.integers(0, 256, (COUNTS[1], 28, 28), dtype=np.uint8),
        "test_labels": (np.arange(COUNTS[1])[::-1] % 10).astype(np.uint8),
    }


def write_dataset(folder, arrays, compress=True):
    folder.mkdir(parents=True, exist_ok=True)
    for role, name in NAMES.items():
        write_idx(folder / (name if compress else name[:-3]), arrays[role])
    return folder


def spec_for(arrays, folder, name="tiny", **changes) -> IdxDatasetSpec:
    """A dataset whose published files are the gzip files ``write_idx`` makes in ``folder``."""
    published = write_dataset(folder / f"published-{name}", arrays)
    files = {}
    for role, file_name in NAMES.items():
        data = (published / file_name).read_bytes()
        files[role] = IdxFile(file_name, hashlib.sha256(data).hexdigest(), len(data))
    base = dict(name=name, files=files, mirrors=(), counts=COUNTS, debian_package="dataset-tiny",
                keras_folder="tiny")
    return IdxDatasetSpec(**{**base, **changes})


def small_version(spec, arrays, folder) -> IdxDatasetSpec:
    """``spec`` (MNIST, Fashion-MNIST) with the small files of ``arrays`` as its published ones."""
    files = spec_for(arrays, folder, name=spec.name).files
    return replace(spec, files=files, counts=COUNTS, mirrors=())


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No real cache, Keras folder, Debian folder or environment leaks into a test."""
    monkeypatch.setenv("TMT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    variables = ("TMT_DATA_DIR", "TMT_MNIST_MIRRORS", "TMT_FASHION_MNIST_MIRRORS", "XDG_CACHE_HOME")
    for name in variables:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sources, "DEBIAN_DATASETS_DIR", tmp_path / "debian")
    return tmp_path


@pytest.fixture
def arrays():
    return make_arrays()


@pytest.fixture
def tiny(arrays, tmp_path):
    return IdxDataset(spec_for(arrays, tmp_path))


# ---------------------------------------------------------------------------- arrays


def test_arrays_like_the_seed(isolated, tiny, arrays):
    write_dataset(isolated / "data", arrays)
    X_train, y_train, X_test, y_test = tiny(data_dir=isolated / "data", download=False)
    assert X_train.shape == (20, 784) and X_train.dtype == np.float32
    assert X_test.shape == (10, 784) and X_test.dtype == np.float32
    assert 0.0 <= X_train.min() and X_train.max() <= 1.0
    np.testing.assert_array_equal(X_train * np.float32(255), arrays["train_images"].reshape(20, -1))
    assert y_train.dtype == np.int64 and y_test.dtype == np.int64
    np.testing.assert_array_equal(y_train, arrays["train_labels"])
    np.testing.assert_array_equal(y_test, arrays["test_labels"])


def test_one_hot_and_unflattened(isolated, tiny, arrays):
    write_dataset(isolated / "data", arrays)
    data = tiny(data_dir=isolated / "data", download=False, one_hot=True, flatten=False)
    assert data.X_train.shape == (20, 1, 28, 28) and data.X_test.shape == (10, 1, 28, 28)
    assert data.y_train.shape == (20, 10) and data.y_train.dtype == np.float32
    np.testing.assert_array_equal(data.y_train.argmax(axis=1), arrays["train_labels"])
    np.testing.assert_array_equal(data.y_train.sum(axis=1), np.ones(20, np.float32))


def test_uncompressed_files_in_a_data_folder(isolated, tiny, arrays):
    write_dataset(isolated / "raw", arrays, compress=False)
    data = tiny(data_dir=isolated / "raw", download=False)
    np.testing.assert_array_equal(data.y_test, arrays["test_labels"])


# ---------------------------------------------------------------------------- order


def test_sources_are_tried_in_order(isolated, tiny, arrays):
    """Each place holds the dataset with its first train label set to a mark of its own."""
    folders = {
        "data": isolated / "data" / "tiny",
        "debian": isolated / "debian" / "tiny",
        "keras": isolated / "keras" / "datasets" / "tiny",
    }
    for mark, folder in enumerate(folders.values(), 1):
        labels = arrays["train_labels"].copy()
        labels[0] = mark
        write_dataset(folder, dict(arrays, train_labels=labels))
    cache = write_dataset(isolated / "cache" / "tiny", arrays)  # digests must match: unmarked

    def winner(**options):
        data = tiny(download=False, **options)
        return data.source.kind, int(data.y_train[0])

    assert winner(data_dir=isolated / "data") == ("data folder", 1)
    assert winner() == ("cache", 0)
    shutil.rmtree(cache)
    assert winner() == ("Debian package dataset-tiny", 2)
    shutil.rmtree(folders["debian"])
    assert winner() == ("Keras cache", 3)
    shutil.rmtree(folders["keras"])
    with pytest.raises(DataNotFoundError):
        tiny(download=False)


def test_tmt_data_dir_environment(isolated, monkeypatch, tiny, arrays):
    write_dataset(isolated / "shared" / "tiny", arrays)
    monkeypatch.setenv("TMT_DATA_DIR", str(isolated / "shared"))
    data = tiny(download=False)
    assert data.source.kind == "data folder (TMT_DATA_DIR)"
    assert data.source.location == str(isolated / "shared" / "tiny")


def test_data_dir_argument_may_name_the_folder_or_its_parent(isolated, tiny, arrays):
    write_dataset(isolated / "direct", arrays)
    write_dataset(isolated / "parent" / "tiny", arrays)
    direct = tiny(data_dir=isolated / "direct", download=False).source.location
    assert direct == str(isolated / "direct")
    parent = tiny(data_dir=isolated / "parent", download=False).source.location
    assert parent == str(isolated / "parent" / "tiny")


def test_cache_files_must_match_their_digest(isolated, tiny, arrays):
    cache = write_dataset(isolated / "cache" / "tiny", make_arrays(seed=5))  # other bytes
    with pytest.raises(DataNotFoundError) as info:
        tiny(download=False)
    message = str(info.value)
    assert "train-images-idx3-ubyte.gz has SHA-256" in message
    assert tiny.spec.files["train_images"].sha256 in message
    assert not (cache / "train-images-idx3-ubyte.gz").exists()  # never trusted again


def test_keras_mnist_npz(isolated, arrays):
    spec = spec_for(arrays, isolated, keras_folder=None, keras_npz="tiny.npz")
    path = isolated / "keras" / "datasets" / "tiny.npz"
    path.parent.mkdir(parents=True)
    np.savez_compressed(path, x_train=arrays["train_images"], y_train=arrays["train_labels"],
                        x_test=arrays["test_images"], y_test=arrays["test_labels"])
    data = IdxDataset(spec)(download=False)
    assert data.source.kind == "Keras cache" and data.source.location == str(path)
    np.testing.assert_array_equal(data.y_test, arrays["test_labels"])


def test_corrupt_keras_npz_is_reported(isolated, arrays):
    spec = spec_for(arrays, isolated, keras_folder=None, keras_npz="tiny.npz")
    path = isolated / "keras" / "datasets" / "tiny.npz"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataNotFoundError, match=f"Keras cache {path}: cannot be read"):
        IdxDataset(spec)(download=False)


def test_result_pickles_with_its_source(isolated, tiny, arrays):
    import pickle

    write_dataset(isolated / "data", arrays)
    data = tiny(data_dir=isolated / "data", download=False)
    copy = pickle.loads(pickle.dumps(data))
    assert copy.source == data.source and len(copy) == 4
    np.testing.assert_array_equal(copy.X_test, data.X_test)
    assert "from data folder" in repr(data)


# ---------------------------------------------------------------------------- bad input


def test_a_data_dir_that_does_not_exist_is_a_warning(isolated, tiny, caplog):
    with caplog.at_level("WARNING", logger="tmt_data"), pytest.raises(DataNotFoundError):
        tiny(data_dir=isolated / "typo", download=False)
    assert any("typo: no such folder" in r.getMessage() for r in caplog.records)


def test_data_folder_with_a_missing_file(isolated, tiny, arrays):
    folder = write_dataset(isolated / "data", arrays)
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataNotFoundError) as info:
        tiny(data_dir=folder, download=False)
    message = str(info.value)
    assert f"data folder {folder}: missing t10k-labels-idx1-ubyte.gz" in message
    assert "TMT_DATA_DIR" in message and "tmt data fetch tiny" in message
    assert "apt-get install dataset-tiny" in message


def test_data_folder_with_a_truncated_file(isolated, tiny, arrays):
    folder = write_dataset(isolated / "data", arrays, compress=False)
    path = folder / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(DataNotFoundError) as info:
        tiny(data_dir=folder, download=False)
    message = str(info.value)
    assert f"{path}: truncated IDX file" in message
    assert str(16 + 20 * 784) in message and "5000" in message


def test_data_folder_with_swapped_files(isolated, tiny, arrays):
    folder = write_dataset(isolated / "data", arrays)
    images, labels = folder / NAMES["train_images"], folder / NAMES["train_labels"]
    images.rename(folder / "tmp"), labels.rename(images), (folder / "tmp").rename(labels)
    with pytest.raises(DataNotFoundError, match="wrong IDX magic number 2049"):
        tiny(data_dir=folder, download=False)


def test_wrong_image_count_is_caught(isolated, tiny, arrays):
    folder = write_dataset(isolated / "data", dict(
        arrays, train_images=arrays["train_images"][:7], train_labels=arrays["train_labels"][:7]))
    with pytest.raises(DataNotFoundError, match="holds 7 images, expected 20"):
        tiny(data_dir=folder, download=False)


def test_nothing_anywhere_lists_every_source(isolated, tiny):
    with pytest.raises(DataNotFoundError) as info:
        tiny(data_dir=isolated / "nowhere", download=False)
    message = str(info.value)
    for expected in ("1. data folder", "2. cache", "3. Debian package dataset-tiny",
                     "4. Keras cache", "To get tiny without network"):
        assert expected in message


# ---------------------------------------------------------------------------- catalog, CLI


def test_builtin_datasets_are_registered_by_name():
    assert {"mnist", "fashion-mnist"} <= set(DATASETS.names())
    assert DATASETS.entry("mnist").provider.name == "datasets"
    assert DATASETS.get("fashion-mnist") is mnist_module.FASHION_MNIST


def test_a_name_nobody_provides_lists_the_available_ones():
    with pytest.raises(NotFoundError) as info:
        load_dataset("cifar-10")
    assert "no dataset named 'cifar-10'" in str(info.value)
    assert "fashion-mnist" in str(info.value) and "mnist" in str(info.value)


def test_a_plugin_adds_a_dataset(isolated, tiny, arrays):
    write_dataset(isolated / "data", arrays)

    class TinyPlugin:
        @plugins.hookimpl
        def register_datasets(self, register):
            register(tiny)

    plugins.register(TinyPlugin(), name="tiny-plugin")
    try:
        X_train, *_ = load_dataset("tiny", data_dir=isolated / "data", download=False)
        assert X_train.shape == (20, 784)
        assert DATASETS.entry("tiny").provider.name == "tiny-plugin"
    finally:
        plugins.unregister("tiny-plugin")
    assert "tiny" not in DATASETS


def test_load_mnist_and_fashion_mnist_use_their_specs(isolated, monkeypatch, arrays):
    for dataset in (mnist_module.MNIST, mnist_module.FASHION_MNIST):
        monkeypatch.setattr(dataset, "spec", small_version(dataset.spec, arrays, isolated))
    write_dataset(isolated / "debian" / "fashion-mnist", arrays)
    write_dataset(isolated / "data" / "mnist", arrays)
    fashion = load_fashion_mnist(download=False)
    assert fashion.source.kind == "Debian package dataset-fashion-mnist"
    digits = load_mnist(data_dir=isolated / "data", download=False, one_hot=True)
    assert digits.y_train.shape == (20, 10)
    with pytest.raises(DataNotFoundError, match="dataset-fashion-mnist"):
        load_mnist(download=False)  # MNIST has no Debian package: the hint says what has


def _cli(*argv):
    from tmt.cli import data as data_cli

    parser = argparse.ArgumentParser(prog="tmt")
    data_cli.add_parser(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.func(args)


def test_tmt_data_list_and_fetch(isolated, monkeypatch, capsys, arrays):
    for dataset in (mnist_module.MNIST, mnist_module.FASHION_MNIST):
        monkeypatch.setattr(dataset, "spec", small_version(dataset.spec, arrays, isolated))
    write_dataset(isolated / "debian" / "fashion-mnist", arrays)
    assert _cli("data", "list") == 0
    lines = capsys.readouterr().out.splitlines()
    fashion = next(line for line in lines if line.startswith("fashion-mnist"))
    digits = next(line for line in lines if line.startswith("mnist"))
    assert "Debian package dataset-fashion-mnist" in fashion and str(isolated / "debian") in fashion
    assert "not found" in digits and "tmt data fetch mnist" in digits

    assert _cli("data", "fetch", "fashion-mnist") == 0
    assert "Debian package dataset-fashion-mnist" in capsys.readouterr().out
    assert _cli("data", "fetch", "mnist", "--mirror", "http://127.0.0.1:9/") == 1
    assert "dataset 'mnist' is not available" in capsys.readouterr().err
    assert _cli("data", "fetch", "no-such-set") == 2
    assert "Available:" in capsys.readouterr().err


def test_every_role_has_a_file():
    with pytest.raises(ValueError, match="no file given for test_labels"):
        IdxDatasetSpec(name="broken", files={r: IdxFile("x", "0") for r in ROLES[:3]}, mirrors=())

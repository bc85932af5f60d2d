"""Downloads against an HTTP server on 127.0.0.1 serving generated gzip IDX files: SHA-256
checks, atomic writes into the cache, mirrors tried in order, every failure reported."""

from __future__ import annotations

import hashlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from tmt_data import ChecksumError, DataNotFoundError, DownloadError, IdxDataset, IdxDatasetSpec
from tmt_data import IdxFile, load_mnist, write_idx
from tmt_data import mnist as mnist_module
from tmt_data import sources
from tmt_data.download import download_verified

pytestmark = pytest.mark.network

NAMES = mnist_module.FILE_NAMES  # the published gzip file name of each role
COUNTS = (30, 10)


class Server:
    """Serves ``routes[path]``: bytes (200), an int (that HTTP status), or ("cut", bytes)
    (announces the full length, sends half, closes). Counts requests per path."""

    def __init__(self) -> None:
        self.routes: dict[str, object] = {}
        self.hits: dict[str, int] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                server.hits[self.path] = server.hits.get(self.path, 0) + 1
                route = server.routes.get(self.path, 404)
                if isinstance(route, int):
                    self.send_error(route)
                    return
                cut = isinstance(route, tuple)
                body = route[1] if cut else route
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if cut else body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, args=(0.02,), daemon=True
        )
        self.thread.start()

    def mirror(self, prefix: str, files: dict[str, bytes]) -> str:
        for name, data in files.items():
            self.routes[f"/{prefix}/{name}"] = data
        return f"{self.url}/{prefix}/"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    served = Server()
    yield served
    served.close()


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("TMT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    for name in ("TMT_DATA_DIR", "TMT_MNIST_MIRRORS", "TMT_FASHION_MNIST_MIRRORS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sources, "DEBIAN_DATASETS_DIR", tmp_path / "debian")
    return tmp_path


@pytest.fixture
def published(tmp_path) -> dict[str, bytes]:
    """The four gzip files of a small dataset, as a mirror would serve them."""
    rng = np.random.default_rng(7)
    arrays = {
        "train_images": rng.integers(0, 256, (COUNTS[0], 28, 28), dtype=np.uint8),
        "train_labels": (np.arange(COUNTS[0]) % 10).astype(np.uint8),
        "test_images": rng.integers(0, 256, (COUNTS[1], 28, 28), dtype=np.uint8),
        "test_labels": (np.arange(COUNTS[1]) % 10).astype(np.uint8),
    }
    folder = tmp_path / "published"
    folder.mkdir()
    return {
        name: write_idx(folder / name, arrays[role]).read_bytes() for role, name in NAMES.items()
    }


@pytest.fixture
def tiny(published) -> IdxDataset:
    files = {role: IdxFile(name, hashlib.sha256(published[name]).hexdigest(), len(published[name]))
             for role, name in NAMES.items()}
    return IdxDataset(IdxDatasetSpec(name="tiny", files=files, mirrors=(), counts=COUNTS))


def cache_listing(isolated) -> list[str]:
    folder = isolated / "cache" / "tiny"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


# ---------------------------------------------------------------------------- success


def test_download_into_the_cache_then_load_from_it(isolated, server, tiny, published):
    mirror = server.mirror("m1", published)
    data = tiny(mirrors=[mirror])
    assert data.source.kind == "download" and data.source.check == "SHA-256 verified"
    assert mirror in data.source.location
    assert data.X_train.shape == (30, 784) and data.y_test.shape == (10,)
    assert cache_listing(isolated) == sorted(NAMES.values())  # no leftover .part file
    for name, body in published.items():
        assert (isolated / "cache" / "tiny" / name).read_bytes() == body

    again = tiny(mirrors=[mirror])
    assert again.source.kind == "cache"
    assert all(count == 1 for count in server.hits.values())  # nothing downloaded twice


def test_second_mirror_used_when_the_first_fails(server, tiny, published):
    first = f"{server.url}/broken/"  # serves 404 for everything
    second = server.mirror("good", published)
    data = tiny(mirrors=[first, second])
    assert second in data.source.location and first not in data.source.location
    assert server.hits["/broken/train-images-idx3-ubyte.gz"] == 1


def test_unreachable_mirror_is_not_asked_for_every_file(server, tiny, published, caplog):
    dead = closed_port_url()
    good = server.mirror("good", published)
    with caplog.at_level("INFO", logger="tmt_data"):
        assert tiny(mirrors=[dead, good]).source.kind == "download"
    asked = [r for r in caplog.records if r.getMessage().startswith(f"downloading {dead}")]
    assert len(asked) == 1
    assert all(server.hits[f"/good/{name}"] == 1 for name in NAMES.values())


def test_mirrors_from_the_environment(isolated, monkeypatch, server, published):
    mirror = server.mirror("env", published)
    files = {role: IdxFile(name, hashlib.sha256(published[name]).hexdigest(), len(published[name]))
             for role, name in NAMES.items()}
    spec = mnist_module.MNIST.spec
    monkeypatch.setattr(mnist_module.MNIST, "spec", IdxDatasetSpec(
        name="mnist", files=files, mirrors=("http://127.0.0.1:9/never/",), counts=COUNTS,
        mirrors_env=spec.mirrors_env, keras_npz=spec.keras_npz))
    monkeypatch.setenv("TMT_MNIST_MIRRORS", f"{closed_port_url()}, {mirror}")
    data = load_mnist()
    assert mirror in data.source.location
    assert (isolated / "cache" / "mnist" / "train-images-idx3-ubyte.gz").is_file()


def test_corrupt_cached_file_is_downloaded_again(isolated, server, tiny, published):
    mirror = server.mirror("m", published)
    tiny(mirrors=[mirror])
    cached = isolated / "cache" / "tiny" / "t10k-images-idx3-ubyte.gz"
    cached.write_bytes(cached.read_bytes()[:-100])
    data = tiny(mirrors=[mirror])
    assert data.source.kind == "download"
    assert cached.read_bytes() == published["t10k-images-idx3-ubyte.gz"]
    assert server.hits["/m/t10k-images-idx3-ubyte.gz"] == 2
    assert server.hits["/m/train-images-idx3-ubyte.gz"] == 1


# ---------------------------------------------------------------------------- failures


def test_wrong_checksum_leaves_nothing_trusted(isolated, server, tiny, published):
    wrong = dict(published)
    good = published["t10k-labels-idx1-ubyte.gz"]
    wrong["t10k-labels-idx1-ubyte.gz"] = good[:-1] + bytes([good[-1] ^ 0xFF])
    mirror = server.mirror("m", wrong)
    with pytest.raises(DataNotFoundError) as info:
        tiny(mirrors=[mirror])
    message = str(info.value)
    expected = tiny.spec.files["test_labels"].sha256
    actual = hashlib.sha256(wrong["t10k-labels-idx1-ubyte.gz"]).hexdigest()
    assert "t10k-labels-idx1-ubyte.gz" in message and expected in message and actual in message
    assert "t10k-labels-idx1-ubyte.gz" not in cache_listing(isolated)
    assert not [name for name in cache_listing(isolated) if name.endswith(".part")]

    server.routes["/m/t10k-labels-idx1-ubyte.gz"] = published["t10k-labels-idx1-ubyte.gz"]
    assert tiny(mirrors=[mirror]).source.kind == "download"
    assert server.hits["/m/train-images-idx3-ubyte.gz"] == 1  # the good files were kept


def test_truncated_body(isolated, server, tiny, published):
    server.mirror("m", published)
    name = "train-images-idx3-ubyte.gz"
    server.routes[f"/m/{name}"] = ("cut", published[name])
    with pytest.raises(DataNotFoundError) as info:
        tiny(mirrors=[f"{server.url}/m/"])
    message = str(info.value)
    assert f"{name} ended early" in message
    assert f"received {len(published[name]) // 2} of {len(published[name])} bytes" in message
    assert cache_listing(isolated) == []


def test_server_error(isolated, server, tiny, published):
    server.mirror("m", published)
    server.routes["/m/train-labels-idx1-ubyte.gz"] = 500
    with pytest.raises(DataNotFoundError, match="train-labels-idx1-ubyte.gz failed: HTTP 500"):
        tiny(mirrors=[f"{server.url}/m/"])
    assert "train-labels-idx1-ubyte.gz" not in cache_listing(isolated)


def test_no_network_and_no_local_copy_lists_every_source(isolated, tiny):
    dead = closed_port_url()
    with pytest.raises(DataNotFoundError) as info:
        tiny(mirrors=[dead, dead + "other/"])
    message = str(info.value)
    assert "1. cache" in message and "no such folder" in message
    assert f"2. download into {isolated / 'cache' / 'tiny'}" in message
    assert f"{dead}train-images-idx3-ubyte.gz failed" in message
    assert f"{dead}other/train-images-idx3-ubyte.gz failed" in message
    assert "tmt data fetch tiny" in message and "TMT_DATA_DIR" in message
    assert not (isolated / "cache" / "tiny").exists()  # no empty folder left in the cache


def test_empty_mirror_list(tiny):
    with pytest.raises(DataNotFoundError, match="no mirror to download from"):
        tiny(mirrors=[])


# ---------------------------------------------------------------------------- atomic writes


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_interrupted_download_leaves_no_file(tmp_path, server, published, error):
    name = "train-images-idx3-ubyte.gz"
    mirror = server.mirror("m", published)
    destination = tmp_path / "dl" / name

    def interrupt(_bytes: int) -> None:
        raise error("interrupted mid-write")

    with pytest.raises(error):
        download_verified(mirror + name, destination, progress=interrupt,
                          sha256=hashlib.sha256(published[name]).hexdigest())
    assert not destination.parent.exists()  # the folder the call made goes too


def test_download_verified_errors_name_url_and_digests(tmp_path, server, published):
    name = "t10k-labels-idx1-ubyte.gz"
    mirror = server.mirror("m", published)
    with pytest.raises(ChecksumError) as info:
        download_verified(mirror + name, tmp_path / "dl" / name, sha256="0" * 64)
    assert mirror + name in str(info.value) and "0" * 64 in str(info.value)
    assert hashlib.sha256(published[name]).hexdigest() in str(info.value)
    with pytest.raises(DownloadError, match="HTTP 404"):
        download_verified(mirror + "missing.gz", tmp_path / "dl" / "missing.gz", sha256="0" * 64)
    assert not (tmp_path / "dl").exists()  # nothing left, not even the folder the calls made

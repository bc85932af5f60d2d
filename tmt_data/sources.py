"""Where the files of an IDX dataset come from, tried in a fixed order:

1. an explicit data folder: the ``data_dir`` argument (the files in it, or in
   ``data_dir/<dataset>/``), else ``$TMT_DATA_DIR/<dataset>/``;
2. the user cache, ``$TMT_CACHE_DIR/<dataset>/`` (default ``~/.cache/tmt/<dataset>/``);
3. Debian's ``/usr/share/datasets/<dataset>/`` (package ``dataset-fashion-mnist``);
4. Keras' cache (``~/.keras/datasets/mnist.npz``, ``~/.keras/datasets/fashion-mnist/``);
5. a download from the mirrors into the cache.

Files tmt downloads (the cache) are trusted only when their SHA-256 matches the published
one; a cached file that fails is deleted and downloaded again. Files someone else put on the
machine (data folder, Debian, Keras) are checked for structure (IDX magic numbers, shapes,
counts, label range) but not by digest: Debian's package, for one, rewrites the gzip headers,
so its bytes differ from the mirrors' although the images are the same.
"""

from __future__ import annotations

import logging
import os
import zipfile
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .download import DEFAULT_TIMEOUT, download_verified, sha256_of
from .errors import ChecksumError, DataNotFoundError, DownloadError, IdxFormatError
from .idx import IDX_IMAGES, IDX_LABELS, read_idx
from .spec import ROLES, IdxDatasetSpec, IdxFile

__all__ = [
    "Origin",
    "Source",
    "FolderSource",
    "KerasNpzSource",
    "DownloadSource",
    "SourceUnavailable",
    "search_order",
    "find_dataset",
    "cache_root",
    "DEBIAN_DATASETS_DIR",
]

log = logging.getLogger("tmt_data")

DEBIAN_DATASETS_DIR = Path("/usr/share/datasets")  # Debian's dataset-* packages install here

RawSplits = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Origin:
    """Where a dataset was found, and how it was checked."""

    kind: str
    location: str
    check: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.location} ({self.check})"


class SourceUnavailable(Exception):
    """A source cannot provide the dataset; ``broken`` when files are there but unusable."""

    def __init__(self, reason: str, *, broken: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.broken = broken


def cache_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The cache root: ``cache_dir``, ``$TMT_CACHE_DIR``, ``$XDG_CACHE_HOME/tmt`` or
    ``~/.cache/tmt``; each dataset has a folder of its own inside."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    if os.environ.get("TMT_CACHE_DIR"):
        return Path(os.environ["TMT_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "tmt"


def keras_datasets_dir() -> Path:
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser() / "datasets"


def mirrors_for(
    spec: IdxDatasetSpec, mirrors: list[str] | tuple[str, ...] | None
) -> tuple[str, ...]:
    """The ``mirrors`` argument, else the ``spec.mirrors_env`` variable (URLs separated by
    commas or spaces), else the published mirrors."""
    if mirrors is not None:
        return tuple(mirrors)
    env = os.environ.get(spec.mirrors_env) if spec.mirrors_env else None
    if env:
        return tuple(url for url in env.replace(",", " ").split() if url)
    return spec.mirrors


def check_arrays(spec: IdxDatasetSpec, arrays: RawSplits, names: list[str]) -> None:
    """Shapes, counts and label range of the four arrays, naming the offending file."""
    for split, (images, labels) in enumerate((arrays[:2], arrays[2:])):
        image_name, label_name = names[2 * split], names[2 * split + 1]
        if images.ndim != 3 or images.shape[1:] != spec.image_shape:
            raise SourceUnavailable(
                f"{image_name} holds an array of shape {images.shape}, expected "
                f"(N, {spec.image_shape[0]}, {spec.image_shape[1]})", broken=True)
        if images.dtype != np.uint8 or labels.dtype.kind not in "ui":
            raise SourceUnavailable(
                f"{image_name} and {label_name} hold {images.dtype} images and "
                f"{labels.dtype} labels, expected uint8 pixels and integer labels", broken=True)
        if labels.ndim != 1 or len(labels) != len(images):
            raise SourceUnavailable(
                f"{label_name} holds labels of shape {labels.shape} for the {len(images)} "
                f"images of {image_name}", broken=True)
        if spec.counts is not None and len(images) != spec.counts[split]:
            raise SourceUnavailable(
                f"{image_name} holds {len(images)} images, expected {spec.counts[split]} "
                f"(train and test files swapped, or another dataset?)", broken=True)
        if len(labels) and (labels.min() < 0 or labels.max() >= spec.num_classes):
            raise SourceUnavailable(
                f"{label_name} holds labels from {labels.min()} to {labels.max()}, expected "
                f"0 to {spec.num_classes - 1}", broken=True)


class Source(ABC):
    """One place a dataset may be: ``read(spec)`` returns its four arrays and an
    :class:`Origin`, or raises :class:`SourceUnavailable` with the reason."""

    kind = "source"
    location: Path

    @property
    def label(self) -> str:
        return f"{self.kind} {self.location}"

    @abstractmethod
    def read(self, spec: IdxDatasetSpec) -> tuple[RawSplits, Origin]:
        """The four arrays (uint8 images and labels) and where they came from."""


class FolderSource(Source):
    """A folder with the four files, gzip-compressed or not (digest-checked if ``verify``)."""

    def __init__(
        self, kind: str, folder: Path, *, verify: bool = False, explicit: bool = False
    ) -> None:
        self.kind = kind
        self.location = folder
        self.verify = verify
        self.explicit = explicit  # named by the user: even an absent folder deserves a warning

    def _path(self, file: IdxFile) -> Path | None:
        names = (file.name,) if self.verify else (file.name, file.raw_name)
        return next((self.location / n for n in names if (self.location / n).is_file()), None)

    def read(self, spec: IdxDatasetSpec) -> tuple[RawSplits, Origin]:
        if not self.location.is_dir():
            raise SourceUnavailable("no such folder")
        paths = {role: self._path(spec.files[role]) for role in ROLES}
        missing = [spec.files[role].name for role in ROLES if paths[role] is None]
        if len(missing) == len(ROLES):
            raise SourceUnavailable(f"none of the files {', '.join(missing)} is there")
        if missing:
            also = "" if self.verify else " (nor uncompressed)"
            raise SourceUnavailable(f"missing {', '.join(missing)}{also}", broken=True)
        if self.verify:
            for role in ROLES:
                self._verify(spec.files[role], paths[role])
        try:
            arrays = tuple(
                read_idx(paths[role], expect_magic=IDX_IMAGES if "images" in role else IDX_LABELS)
                for role in ROLES
            )
        except IdxFormatError as exc:
            raise SourceUnavailable(str(exc), broken=True) from exc
        check_arrays(spec, arrays, [p.name for p in paths.values()])  # type: ignore[union-attr]
        check = "SHA-256 verified" if self.verify else "IDX structure checked"
        return arrays, Origin(self.kind, str(self.location), check)  # type: ignore[return-value]

    def _verify(self, file: IdxFile, path: Path) -> None:
        """A cached file that fails its checksum is deleted: it will be downloaded again."""
        actual = sha256_of(path)
        if actual != file.sha256:
            path.unlink(missing_ok=True)
            raise SourceUnavailable(
                f"{path} has SHA-256 {actual}, expected {file.sha256}; deleted it so that it "
                f"is downloaded again", broken=True)


class KerasNpzSource(Source):
    """Keras' ``mnist.npz`` (arrays ``x_train``, ``y_train``, ``x_test``, ``y_test``)."""

    kind = "Keras cache"
    KEYS = ("x_train", "y_train", "x_test", "y_test")

    def __init__(self, path: Path) -> None:
        self.location = path

    def read(self, spec: IdxDatasetSpec) -> tuple[RawSplits, Origin]:
        if not self.location.is_file():
            raise SourceUnavailable("no such file")
        try:
            with np.load(self.location, allow_pickle=False) as npz:
                missing = [key for key in self.KEYS if key not in npz.files]
                if missing:
                    raise SourceUnavailable(f"has no array {', '.join(missing)}", broken=True)
                arrays = tuple(npz[key] for key in self.KEYS)
        except (OSError, ValueError, zipfile.BadZipFile) as exc:  # not a zip, corrupt member
            raise SourceUnavailable(f"cannot be read: {exc}", broken=True) from exc
        check_arrays(spec, arrays, [f"{self.location.name}[{key}]" for key in self.KEYS])
        origin = Origin(self.kind, str(self.location), "shapes checked")
        return arrays, origin  # type: ignore[return-value]


class DownloadSource(Source):
    """Downloads the files missing from the cache folder, each from the first mirror that
    serves it with the right SHA-256, then reads them from the cache."""

    kind = "download"

    def __init__(
        self, cache: Path, mirrors: tuple[str, ...], timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self.location = cache
        self.mirrors = mirrors
        self.timeout = timeout

    @property
    def label(self) -> str:
        return f"download into {self.location} from {', '.join(self.mirrors) or 'no mirror'}"

    def read(self, spec: IdxDatasetSpec) -> tuple[RawSplits, Origin]:
        if not self.mirrors:
            raise SourceUnavailable("no mirror to download from (empty mirror list)")
        unreachable: set[str] = set()
        used: list[str] = []
        for role in ROLES:
            file = spec.files[role]
            destination = self.location / file.name
            if destination.is_file() and sha256_of(destination) == file.sha256:
                continue
            used.append(self._fetch(file, destination, unreachable))
        arrays, _ = FolderSource("cache", self.location, verify=True).read(spec)
        where = ", ".join(sorted(set(used))) or "the cache"
        return arrays, Origin(self.kind, f"{where} into {self.location}", "SHA-256 verified")

    def _fetch(self, file: IdxFile, destination: Path, unreachable: set[str]) -> str:
        from tqdm import tqdm  # a bar on a terminal only (disable=None), nothing in logs

        failures = []
        for mirror in self.mirrors:
            url = mirror.rstrip("/") + "/" + file.name
            if mirror in unreachable:
                failures.append(f"{url}: skipped, {mirror} was unreachable")
                continue
            log.info("downloading %s", url)
            with tqdm(total=file.size, unit="B", unit_scale=True, desc=file.name,
                      disable=None, leave=False) as bar:
                try:
                    download_verified(url, destination, sha256=file.sha256, size=file.size,
                                      timeout=self.timeout, progress=bar.update)
                    return mirror
                except (DownloadError, ChecksumError) as exc:
                    log.info("%s", exc)
                    failures.append(str(exc))
                    if getattr(exc, "unreachable", False):
                        unreachable.add(mirror)
        raise SourceUnavailable("\n".join(failures))


def search_order(
    spec: IdxDatasetSpec,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    mirrors: list[str] | tuple[str, ...] | None = None,
    download: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[Source]:
    """The sources of ``spec``, in the order they are tried."""
    sources: list[Source] = []
    if data_dir is not None:
        folder = Path(data_dir).expanduser()
        inner = folder / spec.name
        chosen = inner if inner.is_dir() else folder
        sources.append(FolderSource("data folder", chosen, explicit=True))
    elif os.environ.get("TMT_DATA_DIR"):
        folder = Path(os.environ["TMT_DATA_DIR"]).expanduser() / spec.name
        sources.append(FolderSource("data folder (TMT_DATA_DIR)", folder, explicit=True))
    cache = cache_root(cache_dir) / spec.name
    sources.append(FolderSource("cache", cache, verify=True))
    if spec.debian_package:
        debian = DEBIAN_DATASETS_DIR / spec.name
        sources.append(FolderSource(f"Debian package {spec.debian_package}", debian))
    keras = keras_datasets_dir()
    if spec.keras_npz:
        sources.append(KerasNpzSource(keras / spec.keras_npz))
    if spec.keras_folder:
        sources.append(FolderSource("Keras cache", keras / spec.keras_folder))
    if download:
        sources.append(DownloadSource(cache, mirrors_for(spec, mirrors), timeout))
    return sources


def find_dataset(spec: IdxDatasetSpec, sources: list[Source]) -> tuple[RawSplits, Origin]:
    """The arrays from the first source that has them; else one error listing every source
    tried, why it failed, and how to get the data without network."""
    tried = []
    for source in sources:
        try:
            arrays, origin = source.read(spec)
        except SourceUnavailable as exc:
            noteworthy = exc.broken or getattr(source, "explicit", False)
            level = logging.WARNING if noteworthy else logging.INFO
            log.log(level, "%s: %s: %s", spec.name, source.label, exc.reason)
            tried.append((source.label, exc.reason))
            continue
        log.info("%s: using %s", spec.name, origin)
        return arrays, origin
    raise DataNotFoundError(_not_found_message(spec, tried))


def _not_found_message(spec: IdxDatasetSpec, tried: list[tuple[str, str]]) -> str:
    lines = [f"dataset {spec.name!r} is not available. Tried, in order:"]
    for number, (label, reason) in enumerate(tried, 1):
        details = reason.splitlines() or [""]
        if len(details) == 1:
            lines.append(f"  {number}. {label}: {details[0]}")
        else:  # one line per mirror tried
            lines.append(f"  {number}. {label}:")
            lines.extend(f"       {line}" for line in details)
    names = ", ".join(spec.file_names)
    lines += [
        f"To get {spec.name} without network:",
        f"  - on a machine with network run `tmt data fetch {spec.name} --data-dir DIR`, copy "
        f"DIR here and set TMT_DATA_DIR=DIR (the files go in DIR/{spec.name}/);",
        f"  - or put the four files ({names}) in a folder and pass data_dir=FOLDER "
        f"(`tmt train --data-dir FOLDER`), or set TMT_DATA_DIR as above;",
    ]
    if spec.debian_package:
        lines.append(
            f"  - on Debian or Ubuntu: `sudo apt-get install {spec.debian_package}` installs "
            f"them under {DEBIAN_DATASETS_DIR / spec.name}."
        )
    if spec.offline_hint:
        lines.append(f"  - {spec.offline_hint}")
    return "\n".join(lines)

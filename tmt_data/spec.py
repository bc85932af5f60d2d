"""What an IDX image-classification dataset is made of: four published files, where they are
mirrored, and what their arrays must look like. Pure data; :mod:`tmt_data.sources` finds the
files and :mod:`tmt_data.dataset` turns them into training arrays."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["IdxFile", "IdxDatasetSpec", "ROLES"]

# The four files of an MNIST-style dataset, in the order the loaders return their arrays.
ROLES = ("train_images", "train_labels", "test_images", "test_labels")


@dataclass(frozen=True)
class IdxFile:
    """One published gzip file: its name on the mirrors, SHA-256 and size in bytes."""

    name: str
    sha256: str
    size: int | None = None

    @property
    def raw_name(self) -> str:
        """The name of the same file uncompressed (``train-images-idx3-ubyte``)."""
        return self.name[:-3] if self.name.endswith(".gz") else self.name


@dataclass(frozen=True)
class IdxDatasetSpec:
    """An MNIST-style dataset: four IDX files of uint8 images and labels.

    ``counts`` (train, test) and ``image_shape`` are checked on every source, so that a
    swapped or foreign file is caught; ``mirrors`` are base URLs tried in order;
    ``mirrors_env`` names the variable that overrides them. ``debian_package`` says the
    Debian package installing the files under ``/usr/share/datasets/<name>``; ``keras_npz``
    and ``keras_folder`` name Keras' cache inside ``~/.keras/datasets``.
    """

    name: str
    files: dict[str, IdxFile]
    mirrors: tuple[str, ...]
    counts: tuple[int, int] | None = None
    image_shape: tuple[int, int] = (28, 28)
    num_classes: int = 10
    class_names: tuple[str, ...] = ()
    mirrors_env: str | None = None
    debian_package: str | None = None
    keras_npz: str | None = None
    keras_folder: str | None = None
    homepage: str = ""
    description: str = ""
    offline_hint: str = ""  # one more line for the "how to get it offline" part of errors

    def __post_init__(self) -> None:
        missing = [role for role in ROLES if role not in self.files]
        if missing:
            raise ValueError(f"dataset {self.name!r}: no file given for {', '.join(missing)}")

    @property
    def file_names(self) -> list[str]:
        return [self.files[role].name for role in ROLES]

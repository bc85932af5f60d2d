"""MNIST and Fashion-MNIST: their published files, digests and mirrors, and the two loaders.

Digests: the MNIST SHA-256s are the values torchvision, TensorFlow Datasets and others pin
for the files on the mirrors below (their MD5s are the ones torchvision checks). The
Fashion-MNIST SHA-256s are those of the files the Zalando repository publishes; they were
re-derived from Debian's package: Debian's files differ only in the gzip header (no file
name, another time stamp), so putting the original header back gives bytes whose MD5 is the
one in the Fashion-MNIST README and whose SHA-256 is the one below.
"""

from __future__ import annotations

from .dataset import IdxDataset
from .spec import IdxDatasetSpec, IdxFile

__all__ = ["MNIST", "FASHION_MNIST", "MNIST_SPEC", "FASHION_MNIST_SPEC", "load_mnist",
           "load_fashion_mnist"]

# Both datasets publish their four files under MNIST's names.
FILE_NAMES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


def _published(**files: tuple[str, int]) -> dict[str, IdxFile]:
    """``role=(SHA-256, size in bytes)`` -> the IdxFile of that role under its published name."""
    return {role: IdxFile(FILE_NAMES[role], sha256, size) for role, (sha256, size) in files.items()}


MNIST_SPEC = IdxDatasetSpec(
    name="mnist",
    description="handwritten digits 0-9, 28x28 grayscale, 60,000 train / 10,000 test",
    homepage="http://yann.lecun.com/exdb/mnist/",
    files=_published(
        # MD5 f68b3c2dcbeaaa9fbdd348bbdeb94873
        train_images=("440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 9_912_422),
        # MD5 d53e105ee54ea40749a09fcbcd1e9432
        train_labels=("3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 28_881),
        # MD5 9fb629c4189551a2d022fa330f9573f3
        test_images=("8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 1_648_877),
        # MD5 ec29112dd5afa0611ce80d1b7f02629c
        test_labels=("f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 4_542),
    ),
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",  # torchvision's mirror
        "https://storage.googleapis.com/cvdf-datasets/mnist/",  # TensorFlow's mirror
        "http://yann.lecun.com/exdb/mnist/",  # the original site, often refusing scripts
    ),
    mirrors_env="TMT_MNIST_MIRRORS",
    counts=(60_000, 10_000),
    class_names=tuple(str(digit) for digit in range(10)),
    keras_npz="mnist.npz",
    offline_hint=(
        "no Debian package ships MNIST; Fashion-MNIST, the same format, works with no network: "
        "dataset 'fashion-mnist' (--dataset fashion-mnist, load_fashion_mnist()), from "
        "`sudo apt-get install dataset-fashion-mnist` where it is not installed yet."
    ),
)

FASHION_MNIST_SPEC = IdxDatasetSpec(
    name="fashion-mnist",
    description="Zalando's clothing images, 10 classes, 28x28 grayscale, 60,000 / 10,000",
    homepage="https://github.com/zalandoresearch/fashion-mnist",
    files=_published(
        # MD5 8d4fb7e6c68d591d4c3dfef9ec88bf0d
        train_images=("3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84", 26_421_880),
        # MD5 25c81989df183df01b3e8a0aad5dffbe
        train_labels=("a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845", 29_515),
        # MD5 bef4ecab320f06d8554ea6380940ec79
        test_images=("346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073", 4_422_102),
        # MD5 bb300cfdad3c16e7a12a480ee83cd310
        test_labels=("67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5", 5_148),
    ),
    mirrors=(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",  # Zalando's own
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",  # Keras' origin
    ),
    mirrors_env="TMT_FASHION_MNIST_MIRRORS",
    counts=(60_000, 10_000),
    class_names=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    debian_package="dataset-fashion-mnist",
    keras_folder="fashion-mnist",
)

MNIST = IdxDataset(MNIST_SPEC)
FASHION_MNIST = IdxDataset(FASHION_MNIST_SPEC)


# The loaders are the registered dataset objects themselves: one signature and one
# description of the options and sources, on IdxDataset.__call__.
load_mnist = MNIST
load_fashion_mnist = FASHION_MNIST

"""The real Fashion-MNIST from Debian's package dataset-fashion-mnist, when installed."""

from __future__ import annotations

import numpy as np
import pytest

from tmt_data import load_fashion_mnist
from tmt_data import sources

DEBIAN_FOLDER = sources.DEBIAN_DATASETS_DIR / "fashion-mnist"


@pytest.mark.slow
@pytest.mark.skipif(
    not (DEBIAN_FOLDER / "train-images-idx3-ubyte.gz").is_file(),
    reason=f"Fashion-MNIST is not installed in {DEBIAN_FOLDER} "
    "(sudo apt-get install dataset-fashion-mnist)",
)
def test_real_fashion_mnist_from_the_debian_package(tmp_path, monkeypatch):
    monkeypatch.setenv("TMT_CACHE_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.delenv("TMT_DATA_DIR", raising=False)
    X_train, y_train, X_test, y_test = data = load_fashion_mnist(download=False)
    assert data.source.kind == "Debian package dataset-fashion-mnist"
    assert data.source.location == str(DEBIAN_FOLDER)
    assert X_train.shape == (60000, 784) and X_test.shape == (10000, 784)
    assert X_train.dtype == np.float32 and y_train.dtype == np.int64
    assert X_train.min() == 0.0 and X_train.max() == 1.0
    # Fashion-MNIST is balanced: 6,000 train and 1,000 test images per class.
    np.testing.assert_array_equal(np.bincount(y_train), np.full(10, 6000))
    np.testing.assert_array_equal(np.bincount(y_test), np.full(10, 1000))
    # Published facts of the first images: an ankle boot (9) and, in the test set, another.
    assert y_train[0] == 9 and y_test[0] == 9
    assert 0.25 < float(X_train.mean()) < 0.35

"""Every test runs wandb for real, isolated from the machine: HOME, the wandb config, cache and
data folders point into the test's tmp folder (so no ~/.netrc or settings file is read), no
API key is set, the current folder is the tmp folder, and wandb's process-wide settings are
torn down around each test (wandb reads its environment once per process otherwise)."""

from __future__ import annotations

import numpy as np
import pytest
import wandb

from tmt_core import plugins


@pytest.fixture(autouse=True)
def isolated_wandb(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for variable, folder in (("WANDB_CONFIG_DIR", "config"), ("WANDB_CACHE_DIR", "cache"),
                             ("WANDB_DATA_DIR", "data"), ("WANDB_DIR", "runs")):
        (tmp_path / folder).mkdir()
        monkeypatch.setenv(variable, str(tmp_path / folder))
    for variable in ("WANDB_API_KEY", "WANDB_MODE", "WANDB_DISABLED", "NETRC", "WANDB_BASE_URL"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("TMT_LOAD_PLUGINS", "wandb")  # this plugin, nothing else installed
    monkeypatch.chdir(tmp_path)
    wandb.teardown()
    plugins.reset()
    yield tmp_path
    wandb.teardown()
    plugins.reset()


@pytest.fixture
def runs_dir(tmp_path):
    """Where wandb writes its ``wandb/`` folder (WANDB_DIR)."""
    return tmp_path / "runs"


@pytest.fixture
def toy_problem():
    """A separable two-class problem: 64 samples of 4 features, one-hot targets."""
    rng = np.random.default_rng(0)
    X = rng.random((64, 4), dtype=np.float32)
    labels = (X.sum(axis=1) > 2.0).astype(np.int64)
    return X, np.eye(2, dtype=np.float32)[labels]

"""End to end, the way a user meets plugins: a fresh virtual environment (a plain venv, no
system site-packages), ``pip install`` of tmt, ``plugins/tmt-wandb``, ``plugins/tmt-extra-ops``
and a deliberately broken plugin, then the ``tmt`` command and a training run inside it.

Slow (a venv and a pip install: ~40 s with a warm pip cache, the cache the user's other
environments share); CI runs it with ``-m slow``. Needs PyPI or a pip cache holding wandb
and its dependencies.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("tmt", "tmt_core", "tmt_ops", "tmt_nn", "tmt_optim", "tmt_data")
PLUGINS = ("tmt-wandb", "tmt-extra-ops")
SKIP = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist", "wandb", "tests")

BROKEN_PYPROJECT = """
    [build-system]
    requires = ["setuptools>=77"]
    build-backend = "setuptools.build_meta"

    [project]
    name = "tmt-broken-example"
    version = "0.0.1"
    dependencies = ["tiny-micro-torch"]

    [project.entry-points.tmt]
    broken = "tmt_broken_example"

    [tool.setuptools]
    py-modules = ["tmt_broken_example"]
"""
BROKEN_MODULE = "import tmt_e2e_dependency_nobody_installed\n"

TRAIN = """
    import numpy as np
    from tmt_nn import Linear, Network, fit

    rng = np.random.default_rng(0)
    X = rng.random((64, 4), dtype=np.float32)
    targets = np.eye(2, dtype=np.float32)[(X.sum(axis=1) > 2).astype(np.int64)]
    model = Network([Linear(4, 8, activation="relu"), Linear(8, 2)])
    history = fit(model, lambda out, y: ((out - y) ** 2).mean(), "sgd", (X, targets),
                  epochs=2, batch_size=16, validation_data=(X[:16], targets[:16]),
                  optimizer_options={"lr": 0.1}, reporters=["progress", "wandb"],
                  reporter_options={"wandb": {"project": "tmt-e2e"}})
    print(history.status, history.loss)
"""


class Venv:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.bin = root / "venv" / "bin"
        home = root / "home"
        home.mkdir()
        kept = {k: v for k, v in os.environ.items()
                if not k.startswith(("TMT_", "WANDB_", "PYTHON", "VIRTUAL_ENV"))}
        self.env = dict(kept, PATH=f"{self.bin}{os.pathsep}{kept.get('PATH', '')}",
                        HOME=str(home), WANDB_MODE="offline", WANDB_DIR=str(root / "runs"),
                        WANDB_CONFIG_DIR=str(home / "wandb-config"))

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(argv, capture_output=True, text=True, env=self.env,
                              cwd=self.root, timeout=600)
        if check and done.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr}")
        return done

    def tmt(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run(str(self.bin / "tmt"), *argv, check=check)


def _copy_sources(dest: Path) -> list[Path]:
    """A snapshot of the project and its plugins: pip builds in the source tree, which must
    not collect build folders in the repository (or race another test run)."""
    project = dest / "tiny-micro-torch"
    project.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, project / name)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, project / package, ignore=SKIP)
    targets = [project]
    for plugin in PLUGINS:
        source = ROOT / "plugins" / plugin
        assert source.is_dir(), f"plugins/{plugin} is missing"
        shutil.copytree(source, dest / plugin, ignore=SKIP)
        targets.append(dest / plugin)
    broken = dest / "tmt-broken-example"
    broken.mkdir()
    (broken / "pyproject.toml").write_text(textwrap.dedent(BROKEN_PYPROJECT))
    (broken / "tmt_broken_example.py").write_text(BROKEN_MODULE)
    targets.append(broken)
    return targets


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Venv:
    root = tmp_path_factory.mktemp("e2e")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True)
    env = Venv(root)
    targets = _copy_sources(root / "src")
    env.run(str(env.bin / "python"), "-m", "pip", "install", "--disable-pip-version-check",
            "--quiet", *map(str, targets))
    print(f"fresh venv with tmt and {len(targets) - 1} plugins in "
          f"{time.perf_counter() - started:.0f} s")
    return env


def plugin_records(venv: Venv) -> dict[str, dict]:
    return {record["distribution"]: record for record in json.loads(venv.tmt("plugins").stdout)}


def test_tmt_plugins_lists_the_installed_plugins_with_versions(venv):
    records = plugin_records(venv)
    wandb = records["tmt-wandb"]
    assert (wandb["name"], wandb["version"], wandb["status"]) == ("wandb", "0.1.0", "loaded")
    assert wandb["provides"] == {"reporter": ["wandb"]}
    extra = records["tmt-extra-ops"]
    assert extra["status"] == "loaded" and extra["version"]
    assert extra["provides"]["op"], "tmt-extra-ops provides no op"
    assert not any(record["default"] for record in records.values())


def test_a_broken_plugin_is_listed_as_failed_and_every_command_works(venv):
    broken = plugin_records(venv)["tmt-broken-example"]
    assert broken["status"] == "failed"
    assert "No module named 'tmt_e2e_dependency_nobody_installed'" in broken["error"]
    for command in ("ops", "optimizers", "datasets", "reporters"):
        done = venv.tmt(command)
        assert done.stdout.strip(), f"tmt {command} printed nothing"
        assert "tmt: plugin broken (tmt-broken-example 0.0.1) failed to load" in done.stderr
    assert "wandb" in venv.tmt("reporters").stdout.split()
    extra_ops = plugin_records(venv)["tmt-extra-ops"]["provides"]["op"]
    listed = venv.tmt("ops", "--plugin", "tmt-extra-ops").stdout.split()
    assert set(extra_ops) <= set(listed)
    check = venv.tmt("plugins", "--check", check=False)
    assert check.returncode == 1 and "tmt-broken-example 0.0.1" in check.stderr


def test_training_with_the_wandb_reporter_leaves_an_offline_run_with_the_metrics(venv):
    script = venv.root / "train.py"
    script.write_text(textwrap.dedent(TRAIN))
    done = venv.run(str(venv.bin / "python"), str(script))
    assert done.stdout.startswith("success")

    sys.path.insert(0, str(ROOT / "plugins" / "tmt-wandb" / "tests"))
    try:
        from wandb_records import wait_for_run
    finally:
        sys.path.pop(0)
    (run_dir,) = (venv.root / "runs" / "wandb").glob("offline-run-*")
    run = wait_for_run(run_dir)
    assert run.exit_code == 0 and run.summary["status"] == "success"
    assert run.config["epochs"] == 2
    assert [row["train/step"] for row in run.history if "batch/loss" in row] == list(range(1, 9))
    assert [row["epoch"] for row in run.history if "epoch/val_loss" in row] == [1, 2]

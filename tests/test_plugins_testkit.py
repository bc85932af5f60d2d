"""The plugin authors' test kit (``tmt.testing``): its base classes pass on tmt's own plugins,
and every check catches the plugin bug it exists for."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import tmt.testing as kit
from tmt_core.extend import Sample, defop
from tmt_nn import Reporter
from tmt_nn.reporters.history import HistoryReporter
from tmt_optim import SGD, Adam


# ---------------------------------------------------------------------------- optimizers


class TestSGDWithMomentum(kit.OptimizerPluginTests):
    @pytest.fixture
    def optimizer_factory(self):
        return lambda params: SGD(params, lr=0.05, momentum=0.9)


class TestAdam(kit.OptimizerPluginTests):
    @pytest.fixture
    def optimizer_factory(self):
        return lambda params: Adam(params, lr=0.05)


class Ascends(SGD):
    """Steps up the gradient: the classic sign error."""

    def update(self, index, param, grad, state):
        param.data += self.lr * grad


class DecaysEverything(SGD):
    """Weight decay applied to every parameter, with or without a gradient."""

    def step(self):
        for param in self.params:
            param.data *= np.float32(0.99)
        super().step()


class KeepsGradients(SGD):
    """zero_grad() that does nothing."""

    def zero_grad(self):
        pass


class ForgetsMomentum(SGD):
    """state_dict() without the momentum buffers."""

    def state_dict(self):
        saved = super().state_dict()
        saved["state"] = [{} for _ in saved["state"]]
        return saved


class Upcasts(SGD):
    """Replaces float32 parameters with float64 ones."""

    def update(self, index, param, grad, state):
        param.data = param.data - 0.1 * grad.astype(np.float64)


class NormalisesByParameter(SGD):
    """Says its update can be cut in slices, but scales each parameter's step by its whole
    gradient's norm."""

    shard_across_processes = True

    def update(self, index, param, grad, state):
        param.data -= np.float32(0.05) * grad / np.float32(np.sqrt((grad * grad).sum()) + 1e-3)


@pytest.mark.parametrize("broken, check, says", [
    (Ascends, kit.optimizer_checks.check_lowers_convex_quadratic, "did not lower"),
    (Upcasts, kit.optimizer_checks.check_lowers_convex_quadratic, "into float64"),
    (DecaysEverything, kit.optimizer_checks.check_skips_parameters_without_grad, "no gradient"),
    (KeepsGradients, kit.optimizer_checks.check_zero_grad_clears, "zero_grad() left"),
    (ForgetsMomentum, kit.optimizer_checks.check_state_dict_round_trip, "misses part"),
    (NormalisesByParameter, kit.optimizer_checks.check_update_by_slices, "is not elementwise"),
])
def test_optimizer_checks_catch_their_bug(broken, check, says):
    factory = lambda params: broken(params, lr=0.05, momentum=0.9)
    with pytest.raises(AssertionError) as caught:
        check(factory)
    assert says in str(caught.value)
    with pytest.raises(AssertionError):
        kit.check_optimizer(factory)


# ---------------------------------------------------------------------------- datasets


def good_loader(seed=0, size=40):
    """Shuffled noise in [0, 1) with three classes."""
    rng = np.random.default_rng(seed)
    X = rng.random((size, 2, 3), dtype=np.float32)
    y = rng.integers(0, 3, size)
    return X[:30], y[:30], X[30:], y[30:]


class TestGoodLoader(kit.DatasetPluginTests):
    @pytest.fixture
    def dataset_loader(self):
        return good_loader

    @pytest.fixture
    def dataset_options(self):
        return {"size": 50}


DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.skipif(not DEBIAN_FASHION_MNIST.is_dir(),
                    reason="Debian's dataset-fashion-mnist package is not installed")
class TestBuiltinFashionMnist(kit.DatasetPluginTests):
    """The kit on tmt's own dataset plugin, reading the local Debian files (no network)."""

    @pytest.fixture
    def dataset_loader(self):
        from tmt_data import get_dataset

        return get_dataset("fashion-mnist")

    @pytest.fixture
    def dataset_options(self, tmp_path):
        return {"data_dir": DEBIAN_FASHION_MNIST, "cache_dir": tmp_path, "download": False}

    @pytest.fixture
    def dataset_num_classes(self):
        return 10


def _changed(**change):
    def loader(seed=0):
        X_train, y_train, X_test, y_test = good_loader(seed)
        splits = {"X_train": X_train, "y_train": y_train, "X_test": X_test, "y_test": y_test}
        for key, fn in change.items():
            splits[key] = fn(splits[key])
        return splits["X_train"], splits["y_train"], splits["X_test"], splits["y_test"]
    return loader


_unseeded_rng = np.random.default_rng()


def ignores_its_seed(seed=0):
    return good_loader(int(_unseeded_rng.integers(1 << 30)))


@pytest.mark.parametrize("loader, says", [
    (_changed(X_train=lambda X: X.astype(np.float64)), "X_train is float64"),
    (_changed(y_test=lambda y: y.astype(np.float32)), "labels are float32"),
    (_changed(y_train=lambda y: y[:-1]), "but y_train has 29 labels"),
    (_changed(X_test=lambda X: X.reshape(len(X), 6)), "a test sample (6,)"),
    (_changed(X_train=lambda X: X * 255), "outside [0.0, 1.0]"),
    (_changed(y_test=lambda y: y + 5), "y_test spans"),
    (ignores_its_seed, "two calls with {'seed': 0} give different X_train"),
    (lambda: [1, 2, 3], "must return (X_train, y_train, X_test, y_test)"),
])
def test_dataset_checks_catch_their_bug(loader, says):
    with pytest.raises(AssertionError) as caught:
        kit.check_dataset(loader)
    assert says in str(caught.value)


def test_one_hot_labels_and_a_documented_range_pass():
    def one_hot_bytes(seed=0):
        X_train, y_train, X_test, y_test = good_loader(seed)
        eye = np.eye(3, dtype=np.float32)
        return X_train * 255, eye[y_train], X_test * 255, eye[y_test]

    kit.check_dataset(one_hot_bytes, value_range=(0.0, 255.0), num_classes=3)


# ---------------------------------------------------------------------------- reporters


class Counts(Reporter):
    """Counts the events it gets."""

    name = "counts"

    def __init__(self):
        self.events = []

    def on_batch_end(self, *, epoch, step, metrics):
        self.events.append((epoch, step))


class TestHistoryReporter(kit.ReporterPluginTests):
    @pytest.fixture
    def reporter_factory(self):
        return HistoryReporter


class TestMinimalReporter(kit.ReporterPluginTests):
    @pytest.fixture
    def reporter_factory(self):
        return Counts


class NeedsLoss(Counts):
    def on_batch_end(self, *, epoch, step, metrics):
        self.events.append(metrics["loss"])


class NeedsBegin(Counts):
    def on_train_begin(self, *, config):
        self.total = config["epochs"]

    def on_train_end(self, *, status, metrics):
        print(f"{status} after {self.total} epochs")


class RoundsLoss(Counts):
    def on_batch_end(self, *, epoch, step, metrics):
        self.events.append(int(metrics.get("loss", 0) * 100))


class NotAReporter:
    name = "stray"


class Unnamed(Counts):
    name = ""


@pytest.mark.parametrize("reporter, check, says", [
    (NeedsLoss, kit.reporter_checks.check_reporter_empty_metrics, "raised in on_batch_end"),
    (NeedsBegin, kit.reporter_checks.check_reporter_end_without_begin, "raised in on_train_end"),
    (RoundsLoss, kit.reporter_checks.check_reporter_unusual_values,
     "raised in on_batch_end(epoch=1, step=1, metrics={'loss': inf"),
    (NotAReporter, kit.reporter_checks.check_reporter_is_named, "does not subclass"),
    (Unnamed, kit.reporter_checks.check_reporter_is_named, "non-empty string"),
])
def test_reporter_checks_catch_their_bug(reporter, check, says):
    with pytest.raises(AssertionError) as caught:
        check(reporter)
    assert says in str(caught.value)
    with pytest.raises(AssertionError):
        kit.check_reporter(reporter)


def test_fake_run_sends_every_event_in_order():
    seen = []

    class Records(Reporter):
        name = "records"

        def __getattribute__(self, attribute):
            if attribute.startswith("on_"):
                return lambda **kwargs: seen.append((attribute, sorted(kwargs)))
            return super().__getattribute__(attribute)

    kit.fake_run(Records(), epochs=1, steps=2)
    assert seen == [
        ("on_train_begin", ["config"]),
        ("on_epoch_begin", ["epoch", "steps"]),
        ("on_batch_end", ["epoch", "metrics", "step"]),
        ("on_batch_end", ["epoch", "metrics", "step"]),
        ("on_epoch_end", ["epoch", "metrics"]),
        ("on_train_end", ["metrics", "status"]),
    ]


# ---------------------------------------------------------------------------- ops


@defop("testkit.triple", samples=lambda rng: [Sample(rng.standard_normal((2, 3)))],
       reference=lambda x: 3 * x)
def triple(x):
    return x * 3, None


@triple.defvjp
def triple_vjp(g, res):
    return (g * 3,)  # d(3x)/dx = 3


@defop("testkit.bad_triple", samples=lambda rng: [Sample(rng.standard_normal((2, 3)))])
def bad_triple(x):
    return x * 3, None


@bad_triple.defvjp
def bad_triple_vjp(g, res):
    return (g * 2,)  # wrong on purpose: the derivative of 3x is 3


class TestTripleConforms(kit.OpPluginTests):
    ops = (triple,)


def test_check_op_passes_a_sound_op_and_names_a_wrong_vjp():
    kit.check_op(triple)
    with pytest.raises(AssertionError, match="testkit.bad_triple"):
        kit.check_op(bad_triple)


# ---------------------------------------------------------------------------- collection


def test_base_classes_are_not_collected_on_their_own(tmp_path):
    test_file = tmp_path / "test_collect.py"
    test_file.write_text(textwrap.dedent("""
        import pytest
        from tmt.testing import (DatasetPluginTests, OpPluginTests, OptimizerPluginTests,
                                 ReporterPluginTests)
        from tmt_optim import SGD

        class TestMine(OptimizerPluginTests):
            @pytest.fixture
            def optimizer_factory(self):
                return lambda params: SGD(params, lr=0.1)
    """))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         "-o", "python_classes=*Tests Test*", str(test_file)],
        capture_output=True, text=True, cwd=tmp_path,
    )
    collected = [line for line in done.stdout.splitlines() if "::" in line]
    assert collected and all("::TestMine::" in line for line in collected), done.stdout
    assert len(collected) == 4


def test_a_subclass_that_forgets_its_fixture_is_told_which(tmp_path):
    test_file = tmp_path / "test_forgot.py"
    test_file.write_text(
        "from tmt.testing import ReporterPluginTests\n"
        "class TestForgot(ReporterPluginTests):\n    pass\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", str(test_file)],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert done.returncode == 1
    assert "override the fixture 'reporter_factory'" in done.stdout


def test_check_functions_need_no_pytest():
    code = ("import sys; sys.modules['pytest'] = None\n"
            "from tmt.testing import check_optimizer, check_dataset, check_reporter\n"
            "from tmt_optim import SGD\n"
            "check_optimizer(lambda p: SGD(p, lr=0.1)); print('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "ok", done.stderr


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd"])
def test_the_builtin_optimizers_pass_the_optimizer_checks_their_update_by_slices_too(optimizer):
    from tmt_optim import create_optimizer

    kit.check_optimizer(lambda params: create_optimizer(optimizer, params, lr=0.05, **({"momentum": 0.9} if optimizer == "sgd" else {})))

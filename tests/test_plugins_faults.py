"""Bad plugins and bad requests: each fault costs one clear message naming the plugin and its
version, and everything else keeps working. Every plugin here is a throwaway one, installed
as a real entry point for one test (``tmt.testing.temporary_plugin``)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tmt_core as tc
from tmt.testing import temporary_plugin
from tmt_core import plugins
from tmt_core.errors import NotFoundError, PluginLoadError
from tmt_core.registry import OPS, get_op
from tmt_nn import REPORTERS, Linear, Network, Reporter, ReporterWarning, fit, get_reporter
from tmt_optim import create_optimizer

BROKEN = """
    import tmtx_dependency_nobody_installed

    from tmt_core.extend import hookimpl

    @hookimpl
    def register_optimizers(register):
        pass
"""
BROKEN_ERROR = "ModuleNotFoundError: No module named 'tmtx_dependency_nobody_installed'"

EXTRA_ARGUMENT_OPS = """
    from tmt_core.extend import hookimpl

    @hookimpl
    def register_ops(register, device):
        pass
"""

EXTRA_ARGUMENT_REPORTERS = """
    from tmt_core.extend import hookimpl

    @hookimpl
    def register_reporters(register, colour):
        pass
"""

TAKES_TAKEN_NAMES = """
    from tmt_core.extend import Sample, defop, hookimpl
    from tmt_optim import SGD

    @defop("add", samples=lambda rng: [Sample(rng.standard_normal(3), rng.standard_normal(3))])
    def add(a, b):
        return a - b, None   # a wrong "add": it must never replace the real one by accident

    @add.defvjp
    def add_vjp(g, res):
        return g.copy(), -g

    class Impostor(SGD):
        name = "sgd"

    @hookimpl
    def register_ops(register):
        register(add)

    @hookimpl
    def register_optimizers(register):
        register(Impostor)
"""

OVERRIDES_ON_PURPOSE = """
    from tmt_core.extend import hookimpl
    from tmt_optim import SGD

    class LoudSGD(SGD):
        name = "sgd"

    @hookimpl
    def register_optimizers(register):
        register(LoudSGD, override=True)
"""

EXPLODING_REPORTER = """
    from tmt_core.extend import hookimpl
    from tmt_nn import Reporter

    class Explodes(Reporter):
        name = "tmtx_explodes"

        def on_batch_end(self, *, epoch, step, metrics):
            if (epoch, step) == (1, 3):
                raise RuntimeError("disk full")

    @hookimpl
    def register_reporters(register):
        register(Explodes)
"""


def lines_naming(text: str, name: str) -> list[str]:
    return [line for line in text.splitlines() if name in line]


# ---------------------------------------------------------------------------- load failures


def test_a_plugin_whose_import_fails_costs_one_line_and_nothing_else(capsys):
    with temporary_plugin(BROKEN, name="tmtx_broken", version="2.0.0"):
        total = tc.Tensor([1.0, 2.0]) + tc.Tensor([3.0, 4.0])
        info = plugins.plugin_info("tmtx_broken")
        err = capsys.readouterr().err
    assert total.data.tolist() == [4.0, 6.0]
    assert info.status == "failed" and BROKEN_ERROR in info.error
    (line,) = lines_naming(err, "tmtx_broken")
    assert "tmt: plugin tmtx_broken (tmtx-broken 2.0.0) failed to load" in line
    assert BROKEN_ERROR in line and "pip uninstall tmtx-broken" in line


@pytest.mark.parametrize("source, hook, argument", [
    (EXTRA_ARGUMENT_OPS, "register_ops", "device"),
    (EXTRA_ARGUMENT_REPORTERS, "register_reporters", "colour"),
])
def test_a_hook_with_an_argument_the_specification_lacks_fails_to_load(
        capsys, source, hook, argument):
    with temporary_plugin(source, name="tmtx_extra", version="0.2.0"):
        get_op("add")
        REPORTERS.names()
        info = plugins.plugin_info("tmtx_extra")
        err = capsys.readouterr().err
    assert info.status == "failed"
    assert hook in info.error and argument in info.error
    (line,) = lines_naming(err, "tmtx_extra")
    assert "tmtx_extra (tmtx-extra 0.2.0) failed to load" in line and argument in line


def test_strict_mode_turns_a_load_failure_into_an_exception(monkeypatch):
    monkeypatch.setenv("TMT_STRICT_PLUGINS", "1")
    with temporary_plugin(BROKEN, name="tmtx_broken", version="2.0.0"):
        with pytest.raises(PluginLoadError, match=r"tmtx_broken \(tmtx-broken 2\.0\.0\)") as caught:
            plugins.ensure_loaded()
    assert BROKEN_ERROR in str(caught.value)


# ---------------------------------------------------------------------------- name conflicts


def test_a_name_already_taken_keeps_the_first_provider_and_says_so(capsys):
    with temporary_plugin(TAKES_TAKEN_NAMES, name="tmtx_dupe", version="0.9.0"):
        add = OPS.entry("add")
        sgd = create_optimizer("sgd", [tc.Tensor(np.ones(2), requires_grad=True)], lr=0.1)
        problems = plugins.plugin_info("tmtx_dupe").problems
        err = capsys.readouterr().err
    assert add.provider.name == "arithmetic"
    assert type(sgd).__module__ == "tmt_optim.sgd"
    op_line, optimizer_line = lines_naming(err, "tmtx_dupe")
    assert op_line.startswith("tmt: plugin tmtx_dupe (tmtx-dupe 0.9.0): op 'add' is already "
                              "registered by arithmetic (tiny-micro-torch 0.1.0)")
    assert "optimizer 'sgd' is already registered by optimizers (tiny-micro-torch" in optimizer_line
    assert len(problems) == 2


def test_strict_mode_turns_a_name_conflict_into_an_exception(monkeypatch):
    monkeypatch.setenv("TMT_STRICT_PLUGINS", "1")
    with temporary_plugin(TAKES_TAKEN_NAMES, name="tmtx_dupe", version="0.9.0"):
        with pytest.raises(PluginLoadError, match=r"tmtx_dupe \(tmtx-dupe 0\.9\.0\).*'add'"):
            get_op("add")


def test_override_replaces_a_name_on_purpose_without_a_word(capsys):
    with temporary_plugin(OVERRIDES_ON_PURPOSE, name="tmtx_override"):
        sgd = create_optimizer("sgd", [tc.Tensor(np.ones(2), requires_grad=True)], lr=0.1)
        err = capsys.readouterr().err
    assert type(sgd).__name__ == "LoudSGD"
    assert not lines_naming(err, "tmtx_override")


# ---------------------------------------------------------------------------- unknown names


def test_an_unknown_reporter_lists_what_is_available():
    with pytest.raises(NotFoundError) as caught:
        get_reporter("histroy")
    message = str(caught.value)
    assert "no reporter named 'histroy'; did you mean history?" in message
    assert "Available: csv, history" in message


def test_an_unknown_reporter_fails_fit_before_training():
    model = Network([Linear(2, 2)])
    X, y = np.zeros((4, 2), np.float32), np.zeros(4, np.int64)
    with pytest.raises(NotFoundError, match="no reporter named 'wandb'.*Available: "):
        fit(model, lambda out, target: (out * out).mean(), "sgd", (X, y), reporters=["wandb"],
            optimizer_options={"lr": 0.1})


def test_an_unknown_optimizer_lists_what_is_available():
    params = [tc.Tensor(np.ones(2), requires_grad=True)]
    with pytest.raises(NotFoundError) as caught:
        create_optimizer("adma", params)
    assert "no optimizer named 'adma'; did you mean adam" in str(caught.value)
    assert "Available: adam, adamw, sgd" in str(caught.value)


def test_asking_for_what_a_failed_plugin_would_provide_says_why_it_is_missing():
    with temporary_plugin(BROKEN, name="tmtx_broken", version="2.0.0"):
        with pytest.raises(NotFoundError) as optimizer_error:
            create_optimizer("lion", [tc.Tensor(np.ones(2), requires_grad=True)])
        with pytest.raises(NotFoundError) as op_error:
            tc.ops["tmtx_broken.gelu"]
    for caught in (optimizer_error, op_error):
        assert (f"Plugin tmtx_broken (tmtx-broken 2.0.0) failed to load ({BROKEN_ERROR})"
                in str(caught.value))


# ---------------------------------------------------------------------------- reporters


class Recorder(Reporter):
    name = "recorder"

    def __init__(self):
        self.events: list[str] = []

    def on_train_begin(self, *, config):
        self.events.append("train_begin")

    def on_epoch_begin(self, *, epoch, steps):
        self.events.append("epoch_begin")

    def on_batch_end(self, *, epoch, step, metrics):
        self.events.append("batch_end")

    def on_epoch_end(self, *, epoch, metrics):
        self.events.append("epoch_end")

    def on_train_end(self, *, status, metrics):
        self.events.append(f"train_end:{status}")


def test_a_reporter_raising_mid_training_costs_one_warning_and_nothing_else():
    rng = np.random.default_rng(0)
    X, y = rng.random((64, 3), dtype=np.float32), rng.integers(0, 2, 64)
    model = Network([Linear(3, 2)])
    before, after = Recorder(), Recorder()
    with temporary_plugin(EXPLODING_REPORTER, name="tmtx_explodes", version="3.1.4"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            history = fit(model, lambda out, target: (out * out).mean(), "sgd", (X, y),
                          epochs=2, batch_size=16, optimizer_options={"lr": 0.1},
                          reporters=[before, "tmtx_explodes", after])
    assert history.status == "success" and len(history.loss) == 2
    expected = (["train_begin"] + (["epoch_begin"] + ["batch_end"] * 4 + ["epoch_end"]) * 2
                + ["train_end:success"])
    assert before.events == expected and after.events == expected
    reporter_warnings = [w for w in caught if issubclass(w.category, ReporterWarning)]
    assert len(reporter_warnings) == 1
    message = str(reporter_warnings[0].message)
    assert "tmtx_explodes" in message and "disk full" in message
    assert "tmtx-explodes 3.1.4" in message  # the plugin and its version, not only the name


# ---------------------------------------------------------------------------- isolation


def test_a_plugin_registered_by_hand_is_gone_after_unregister():
    class Throwaway:
        @plugins.hookimpl
        def register_reporters(self, register):
            register(Recorder)

    name = plugins.register(Throwaway(), name="tmtx_by_hand")
    try:
        assert isinstance(get_reporter("recorder"), Recorder)
    finally:
        plugins.unregister(name)
    with pytest.raises(NotFoundError):
        get_reporter("recorder")

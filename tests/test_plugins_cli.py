"""``tmt plugins`` (JSON and table, ``--all``, ``--check``) and ``tmt optimizers | datasets |
reporters``, against throwaway plugins installed as real entry points for one test each."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tmt.cli import main
from tmt.testing import temporary_plugin

OP_PLUGIN = """
    from tmt_core.extend import Sample, defop, hookimpl

    @defop("tmtx_ops.double", samples=lambda rng: [Sample(rng.standard_normal((2, 3)))],
           reference=lambda x: 2 * x)
    def double(x):
        return x * 2, None

    @double.defvjp
    def double_vjp(g, res):
        return (g * 2,)  # d(2x)/dx = 2

    @hookimpl
    def register_ops(register):
        register(double)
"""

EVERY_KIND_PLUGIN = OP_PLUGIN + """
    import numpy as np
    from tmt_optim import SGD
    from tmt_nn import Reporter

    class Frozen(SGD):
        "SGD under another name."
        name = "tmtx_frozen"

    class Silent(Reporter):
        "Reports nothing."
        name = "tmtx_silent"

    def tiny(seed=0):
        "Four samples of noise."
        rng = np.random.default_rng(seed)
        X = rng.random((4, 3), dtype=np.float32)
        return X, np.arange(4) % 2, X, np.arange(4) % 2

    @hookimpl
    def register_optimizers(register):
        register(Frozen)

    @hookimpl
    def register_reporters(register):
        register(Silent)

    @hookimpl
    def register_datasets(register):
        register(tiny, name="tmtx_tiny")
"""

BROKEN_PLUGIN = """
    import tmtx_dependency_nobody_installed

    from tmt_core.extend import hookimpl

    @hookimpl
    def register_ops(register):
        pass
"""

MISSPELLED_PLUGIN = """
    from tmt_core.extend import hookimpl

    @hookimpl
    def register_reporter(register):
        pass
"""

UNMARKED_PLUGIN = """
    def register_ops(register):
        pass
"""


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def records(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, dict]:
    code, out, _ = run_cli(capsys, "plugins", *argv)
    assert code == 0
    return {record["name"]: record for record in json.loads(out)}


def test_lists_a_plugin_with_distribution_version_module_hooks_and_ops(capsys):
    with temporary_plugin(OP_PLUGIN, name="tmtx_ops", version="0.3.1"):
        listed = records(capsys)
    assert listed["tmtx_ops"] == {
        "name": "tmtx_ops", "distribution": "tmtx-ops", "version": "0.3.1",
        "module": "tmtx_ops", "default": False, "status": "loaded", "error": None,
        "hooks": ["register_ops"], "provides": {"op": ["tmtx_ops.double"]}, "problems": [],
    }


def test_default_plugins_only_with_all(capsys):
    with temporary_plugin(OP_PLUGIN, name="tmtx_ops"):
        plain = records(capsys)
        everything = records(capsys, "--all")
    assert list(plain) == ["tmtx_ops"]
    assert everything["arithmetic"]["default"] is True
    assert everything["arithmetic"]["distribution"] == "tiny-micro-torch"
    assert "add" in everything["arithmetic"]["provides"]["op"]
    assert "sgd" in everything["optimizers"]["provides"]["optimizer"]


def test_provides_lists_every_kind(capsys):
    with temporary_plugin(EVERY_KIND_PLUGIN, name="tmtx_every"):
        record = records(capsys)["tmtx_every"]
    assert record["provides"] == {
        "op": ["tmtx_ops.double"], "optimizer": ["tmtx_frozen"],
        "dataset": ["tmtx_tiny"], "reporter": ["tmtx_silent"],
    }
    assert record["hooks"] == [
        "register_datasets", "register_ops", "register_optimizers", "register_reporters"
    ]


def test_a_failed_plugin_is_listed_with_its_error_and_tmt_keeps_working(capsys):
    with temporary_plugin(BROKEN_PLUGIN, name="tmtx_broken", version="2.0.0"):
        code, out, err = run_cli(capsys, "plugins")
        record = {r["name"]: r for r in json.loads(out)}["tmtx_broken"]
        ops_code, ops_out, _ = run_cli(capsys, "ops")
        reporters_code, _, _ = run_cli(capsys, "reporters")
    assert code == 0
    assert record["status"] == "failed" and record["version"] == "2.0.0"
    assert "No module named 'tmtx_dependency_nobody_installed'" in record["error"]
    assert "tmtx_broken (tmtx-broken 2.0.0) failed to load" in err
    assert ops_code == 0 and "add" in ops_out.split()
    assert reporters_code == 0


def test_table_format_shows_version_status_provides_and_error(capsys):
    with temporary_plugin(OP_PLUGIN, name="tmtx_ops", version="0.3.1"), \
            temporary_plugin(BROKEN_PLUGIN, name="tmtx_broken", version="2.0.0"):
        code, out, _ = run_cli(capsys, "plugins", "--format", "table")
    assert code == 0
    assert "tmtx_ops (tmtx-ops 0.3.1)  [loaded]" in out
    assert "provides: op: tmtx_ops.double" in out
    assert "tmtx_broken (tmtx-broken 2.0.0)  [failed]" in out
    assert "error:    ModuleNotFoundError" in out


def test_check_passes_for_a_sound_plugin(capsys):
    with temporary_plugin(OP_PLUGIN, name="tmtx_ops"):
        code, out, _ = run_cli(capsys, "plugins", "--check")
    record = json.loads(out)[0]
    assert code == 0
    assert record["unknown_hooks"] == [] and record["unmarked_hooks"] == []


def test_check_names_a_misspelled_hook_and_fails(capsys):
    with temporary_plugin(MISSPELLED_PLUGIN, name="tmtx_typo", version="0.0.1"):
        plain_code, _, _ = run_cli(capsys, "plugins")
        code, out, err = run_cli(capsys, "plugins", "--check")
    assert plain_code == 0  # without --check the typo is listed quietly...
    assert code == 1  # ...with it, the command fails and says why
    record = json.loads(out)[0]
    assert record["unknown_hooks"] == ["register_reporter"]
    assert "tmtx_typo (tmtx-typo 0.0.1)" in err
    assert "register_reporter() matches no hook specification" in err
    assert "did you mean register_reporters?" in err


def test_check_names_a_hook_function_without_hookimpl(capsys):
    with temporary_plugin(UNMARKED_PLUGIN, name="tmtx_unmarked"):
        code, out, err = run_cli(capsys, "plugins", "--check")
    assert code == 1
    assert json.loads(out)[0]["unmarked_hooks"] == ["register_ops"]
    assert "register_ops() is not marked with @hookimpl" in err


def test_check_fails_when_a_listed_plugin_failed(capsys):
    with temporary_plugin(BROKEN_PLUGIN, name="tmtx_broken", version="2.0.0"):
        code, _, err = run_cli(capsys, "plugins", "--check")
    assert code == 1
    assert "tmt plugins --check: tmtx_broken (tmtx-broken 2.0.0): ModuleNotFoundError" in err


@pytest.mark.parametrize(
    "command, builtin, theirs",
    [("optimizers", "sgd", "tmtx_frozen"), ("reporters", "history", "tmtx_silent"),
     ("datasets", "mnist", "tmtx_tiny")],
)
def test_catalog_commands_list_names_and_providers(capsys, command, builtin, theirs):
    with temporary_plugin(EVERY_KIND_PLUGIN, name="tmtx_every", version="1.2.3"):
        code, out, _ = run_cli(capsys, command, "--format", "json")
        table_code, table, _ = run_cli(capsys, command)
        only_code, only, _ = run_cli(capsys, command, "--plugin", "tmtx-every", "--format", "json")
    kind = command[:-1]
    rows = {row[kind]: row for row in json.loads(out)}
    assert code == table_code == only_code == 0
    assert rows[builtin]["distribution"] == "tiny-micro-torch"
    assert rows[theirs]["plugin"] == "tmtx_every" and rows[theirs]["version"] == "1.2.3"
    assert rows[theirs]["description"]
    assert f"{theirs}" in table and "tmtx_every (tmtx-every 1.2.3)" in table
    assert [row[kind] for row in json.loads(only)] == [theirs]


def test_each_dataset_is_described_in_its_own_words(capsys):
    code, out, _ = run_cli(capsys, "datasets", "--format", "json")
    described = {row["dataset"]: row["description"] for row in json.loads(out)}
    assert code == 0
    assert "digits" in described["mnist"] and "clothing" in described["fashion-mnist"]


def test_an_installed_plugin_left_out_of_tmt_load_plugins_does_not_load(capsys):
    with temporary_plugin(OP_PLUGIN, name="tmtx_ops", select=False):
        listed = records(capsys, "--all")
    assert "tmtx_ops" not in listed


@pytest.mark.parametrize("command", ["ops", "optimizers", "reporters", "datasets"])
def test_an_unknown_plugin_filter_is_an_error_naming_the_providers(capsys, command):
    code, out, err = run_cli(capsys, command, "--plugin", "nope")
    assert code == 1 and out == ""
    assert "no loaded plugin named 'nope'" in err and "tiny-micro-torch" in err


def test_descriptions_carry_no_rst_markup(capsys):
    code, out, _ = run_cli(capsys, "optimizers", "--format", "json")
    assert code == 0 and all("``" not in row["description"] for row in json.loads(out))


def test_a_closed_pipe_ends_a_listing_quietly():
    lister = subprocess.Popen([sys.executable, "-c", "import sys; from tmt.cli import main; sys.exit(main(['ops']))"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lister.stdout.close()  # the reader is gone before the first line, as `tmt ops | head -0`
    _, err = lister.communicate(timeout=60)
    assert "Traceback" not in err and "BrokenPipeError" not in err

"""``tmt conformance``: one line per op and sample, a summary, and an exit code that fails
the run on any failure or unexpected pass."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from importlib import metadata

import pytest

from tmt.cli import main
from tmt_core import plugins
from tmt_core.extend import defop, hookimpl, unary_samples


def plugin_module(name: str, *ops) -> types.ModuleType:
    module = types.ModuleType(name)

    @hookimpl
    def register_ops(register):
        for op in ops:
            register(op)

    module.register_ops = register_ops
    return module


def make_cube(name: str, factor: float, xfail=None):
    op = defop(name, samples=unary_samples(), reference=lambda x: x**3, xfail=xfail)(lambda x: (x**3, x))
    op.defvjp(lambda g, x: (g * factor * x * x,))  # d x³/dx = 3x²
    return op


@pytest.fixture
def registered():
    names = []

    def add(name, *ops):
        plugins.register(plugin_module(name, *ops), name=name)
        names.append(name)

    yield add
    for name in names:
        plugins.unregister(name)


def test_one_line_per_op_and_sample_and_a_summary(capsys):
    assert main(["conformance", "--op", "mul"]) == 0
    lines = capsys.readouterr().out.splitlines()
    sample_lines = [line for line in lines if line.startswith("PASS") and " mul " in line]
    assert len(sample_lines) >= 7  # the op line and its six samples
    assert any("(n,1) with (1,m)" in line for line in sample_lines)
    assert " passed, 0 failed" in lines[-1]


def test_verbose_lists_every_check(capsys):
    assert main(["conformance", "--op", "exp", "-v"]) == 0
    out = capsys.readouterr().out
    for check in ("registration", "finite_differences.jacobian", "linearity", "isolation.aliasing"):
        assert f"pass  {check}" in out


def test_a_failing_plugin_exits_non_zero_and_says_why(capsys, registered):
    registered("cli_cubes", make_cube("cli.cube_ok", 3.0), make_cube("cli.cube_wrong", 2.0))
    assert main(["conformance", "--plugin", "cli_cubes"]) == 1
    out = capsys.readouterr().out
    fail_lines = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert fail_lines and all("cli.cube_wrong" in line for line in fail_lines)
    assert "finite_differences" in out and "finite differences give" in out
    assert " failed" in out.splitlines()[-1] and " 0 failed" not in out.splitlines()[-1]


def test_an_unexpected_pass_exits_non_zero(capsys, registered):
    registered("cli_xpass", make_cube("cli.cube_xpass", 3.0, xfail={"linearity": "believed broken"}))
    assert main(["conformance", "--plugin", "cli_xpass"]) == 1
    out = capsys.readouterr().out
    assert "XPASS" in out and "declared xfail (believed broken)" in out
    assert "4 xpassed" in out.splitlines()[-1]  # one per sample


def test_unknown_plugin_or_op_is_a_usage_error(capsys):
    assert main(["conformance", "--plugin", "no-such-plugin"]) == 2
    assert "no-such-plugin" in capsys.readouterr().err
    assert main(["conformance", "--op", "mull"]) == 2
    assert "did you mean" in capsys.readouterr().err


def _extra_ops_installed() -> bool:
    try:
        metadata.distribution("tmt-extra-ops")
    except metadata.PackageNotFoundError:
        return False
    return True


@pytest.mark.skipif(not _extra_ops_installed(), reason="pip install -e plugins/tmt-extra-ops first")
def test_installed_example_plugin_passes_from_the_command_line():
    env = {k: v for k, v in os.environ.items() if k != "TMT_LOAD_PLUGINS"}
    env["TMT_LOAD_PLUGINS"] = "tmt-extra-ops"
    command = [sys.executable, "-m", "tmt", "conformance", "--plugin", "tmt-extra-ops"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "extra.logsumexp" in done.stdout and " 0 failed" in done.stdout
    env["TMT_LOAD_PLUGINS"] = ""
    hidden = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert hidden.returncode == 2
    assert "not loaded" in hidden.stderr

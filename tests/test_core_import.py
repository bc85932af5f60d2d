"""``import tmt_core`` alone gives every op, and scans no entry point until first use."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap


def run_python(code: str, cwd) -> subprocess.CompletedProcess:
    env = dict(os.environ, TMT_LOAD_PLUGINS="")
    env.pop("TMT_STRICT_PLUGINS", None)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )


def test_import_scans_no_entry_point(tmp_path):
    result = run_python(
        """
        import sys
        import tmt_core
        assert tmt_core.plugins._state.loaded is False, "entry points scanned at import"
        assert not any(name.startswith("tmt_ops") for name in sys.modules), sorted(sys.modules)
        print("ok")
        """,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_any_op_works_with_no_other_import(tmp_path):
    result = run_python(
        """
        import tmt_core
        x = tmt_core.Tensor([1.0, 2.0, 3.0], requires_grad=True)
        loss = (x * x) @ tmt_core.ops.exp(tmt_core.Tensor([0.0, 0.0, 0.0]))
        loss.backward()
        assert tmt_core.plugins._state.loaded is True
        print(loss.item(), x.grad.tolist(), x.grad.dtype)
        """,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "14.0 [2.0, 4.0, 6.0] float32"

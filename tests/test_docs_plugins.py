"""docs/plugins.md keeps up with the code: every hook specification of every layer has its
own section with its exact signature and a runnable example, and every example marked
``python runnable`` runs."""

from __future__ import annotations

import importlib
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "plugins.md"
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
SPEC_MARKER = "tmt_spec"  # what pluggy.HookspecMarker("tmt") sets on a specification


def hook_specifications() -> list[tuple[str, str]]:
    """``(hook name, "def name(args)")`` for every specification in every layer's
    ``hookspecs.py`` (found on disk, so a new layer cannot be forgotten)."""
    specs = []
    for path in sorted(ROOT.glob("*/hookspecs.py")):
        module = importlib.import_module(f"{path.parent.name}.hookspecs")
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if hasattr(function, SPEC_MARKER) and function.__module__ == module.__name__:
                arguments = ", ".join(inspect.signature(function).parameters)
                specs.append((name, f"def {name}({arguments})"))
    return specs


def sections(text: str) -> dict[str, str]:
    """Level-2 sections by heading (code blocks are kept whole: a ``#`` inside one is not a
    heading)."""
    found: dict[str, str] = {}
    heading, body, in_code = None, [], False
    for line in text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if not in_code and line.startswith("## "):
            if heading is not None:
                found[heading] = "\n".join(body)
            heading, body = line[3:].strip().strip("`"), []
        elif heading is not None:
            body.append(line)
    if heading is not None:
        found[heading] = "\n".join(body)
    return found


def runnable_blocks(text: str) -> list[str]:
    return [code for info, code in FENCE.findall(text) if info.split() == ["python", "runnable"]]


SPECS = hook_specifications()
DOC_TEXT = DOC.read_text()
SECTIONS = sections(DOC_TEXT)
BLOCKS = runnable_blocks(DOC_TEXT)


def test_every_layer_has_its_hook():
    assert {name for name, _ in SPECS} >= {
        "register_ops", "register_optimizers", "register_datasets", "register_reporters"
    }


@pytest.mark.parametrize("hook, signature", SPECS, ids=[name for name, _ in SPECS])
def test_each_hook_has_a_section_with_its_exact_signature_and_a_runnable_example(hook, signature):
    assert hook in SECTIONS, f"docs/plugins.md has no '## {hook}' section"
    body = SECTIONS[hook]
    assert signature in body, (
        f"the '## {hook}' section of docs/plugins.md does not show the exact signature "
        f"{signature!r}"
    )
    assert runnable_blocks(body), f"the '## {hook}' section has no ```python runnable example"


def test_the_doc_covers_loading_the_command_the_tutorial_and_the_test_kit():
    for topic in ("TMT_LOAD_PLUGINS", "TMT_STRICT_PLUGINS", "tmt plugins", "--check",
                  "tmt-wandb", "ReporterPluginTests", "OptimizerPluginTests",
                  "DatasetPluginTests", "OpPluginTests"):
        assert topic in DOC_TEXT, f"docs/plugins.md does not mention {topic}"


def test_there_are_runnable_examples():
    assert len(BLOCKS) >= len(SPECS)


@pytest.mark.parametrize("code", BLOCKS, ids=[f"example{i + 1}" for i in range(len(BLOCKS))])
def test_runnable_example_runs(code, tmp_path):
    script = tmp_path / "example.py"
    script.write_text(code)
    environment = dict(os.environ, TMT_LOAD_PLUGINS="", WANDB_MODE="disabled")
    environment.pop("TMT_STRICT_PLUGINS", None)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          cwd=tmp_path, env=environment, timeout=300)
    assert done.returncode == 0, f"example failed:\n{code}\n--- stderr ---\n{done.stderr}"

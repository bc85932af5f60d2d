"""Which ops a conformance run covers: every registered op, or those of one plugin (by its
entry-point name or its distribution), or those whose name matches a pattern."""

from __future__ import annotations

import fnmatch
from importlib import metadata

from .. import plugins
from ..catalog import Entry
from ..errors import NotFoundError, OpNotFoundError
from ..op import Op
from ..registry import OPS

__all__ = ["select_entries", "provider_label", "load_plugin", "matches_plugin"]


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def matches_plugin(info: plugins.PluginInfo, plugin: str) -> bool:
    wanted = _canonical(plugin)
    names = [info.name] + ([info.distribution] if info.distribution else [])
    return any(_canonical(n) == wanted for n in names)


def _no_plugin_message(plugin: str) -> str:
    infos = plugins.plugin_infos()
    for info in infos:
        if matches_plugin(info, plugin) and info.status == "failed":
            return f"plugin {info.label} failed to load: {info.error}"
        if matches_plugin(info, plugin):
            return f"plugin {info.label} registers no op"
    providers = sorted({e.provider.distribution or e.provider.name for e in OPS.entries()})
    installed = [
        f"{e.name} ({e.dist.name})" if e.dist else e.name
        for e in metadata.entry_points(group=plugins.PROJECT)
        if _canonical(plugin) in (_canonical(e.name), _canonical(e.dist.name if e.dist else ""))
    ]
    message = f"no loaded plugin named {plugin!r} provides ops"
    if installed:
        message += (
            f"; it is installed ({', '.join(installed)}) but not loaded: TMT_LOAD_PLUGINS "
            f"selects which installed plugins load"
        )
    return message + f". Plugins providing ops: {', '.join(providers) or '(none)'}."


def select_entries(plugin: str | None = None, op: str | None = None) -> list[Entry[Op]]:
    """Registry entries of the ops to check, in name order. ``op`` is a name or a glob
    pattern (``"extra.*"``). Selecting nothing is an error that says what exists."""
    entries = OPS.entries()
    if plugin is not None:
        entries = [e for e in entries if matches_plugin(e.provider, plugin)]
        if not entries:
            raise NotFoundError(_no_plugin_message(plugin))
    if op is not None:
        chosen = [e for e in entries if e.name == op or fnmatch.fnmatchcase(e.name, op)]
        if not chosen:
            if plugin is not None and op in OPS:
                raise NotFoundError(f"op {op!r} is not provided by plugin {plugin!r}")
            raise OpNotFoundError(OPS.missing_message(op))
        entries = chosen
    return entries


def provider_label(op: Op) -> str:
    """How the registration check names the op's plugin."""
    try:
        entry = OPS.entry(op.name)
    except (NotFoundError, AttributeError):
        return "(not registered)"
    return entry.provider.label if entry.value is op else "(not registered)"


def load_plugin(plugin: str) -> list[str]:
    """Make sure the plugin ``plugin`` (entry-point or distribution name) is loaded, even when
    TMT_LOAD_PLUGINS leaves it out, and return the names it is registered under. For test
    suites that name their plugin on purpose; nothing else is loaded."""
    known = [i for i in plugins.plugin_infos() if matches_plugin(i, plugin)]
    if any(i.status == "failed" for i in known):
        raise NotFoundError(_no_plugin_message(plugin))
    if known:
        return [i.name for i in known]
    names = []
    for entry in metadata.entry_points(group=plugins.PROJECT):
        dist = entry.dist.name if entry.dist is not None else None
        if _canonical(plugin) not in (_canonical(entry.name), _canonical(dist or "")):
            continue
        plugins.register(entry.load(), name=entry.name)
        info = plugins.plugin_info(entry.name)
        if info is not None and entry.dist is not None:  # keep the attribution `tmt ops` shows
            info.distribution, info.version = dist, entry.dist.version
        names.append(entry.name)
    if not names:
        raise NotFoundError(_no_plugin_message(plugin))
    return names

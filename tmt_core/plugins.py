"""The plugin manager: pluggy project ``tmt``, entry-point group ``tmt``.

Entry points are scanned once, lazily, the first time anything asks for a registry, never at
import. Built-in op families, optimizers, datasets and reporters are entry points of the
``tiny-micro-torch`` distribution itself ("default plugins") and take the same path as a third
party's. ``TMT_LOAD_PLUGINS`` selects which third-party plugins load (comma-separated entry
point or distribution names; empty: none); ``TMT_STRICT_PLUGINS=1`` re-raises load failures.
"""

from __future__ import annotations

import inspect
import os
import sys
import traceback
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType
from typing import Any, Callable

import pluggy

from . import hookspecs as _core_hookspecs
from .errors import PluginLoadError

__all__ = [
    "PROJECT",
    "DISTRIBUTION",
    "hookimpl",
    "hookspec",
    "PluginInfo",
    "plugin_manager",
    "add_hookspecs",
    "ensure_loaded",
    "register",
    "unregister",
    "plugin_infos",
    "plugin_info",
    "generation",
    "on_change",
    "call_register_hook",
    "failed_plugins",
    "report_problem",
    "reset",
]

PROJECT = "tmt"
DISTRIBUTION = "tiny-micro-torch"

hookimpl = pluggy.HookimplMarker(PROJECT)
hookspec = pluggy.HookspecMarker(PROJECT)


@dataclass
class PluginInfo:
    """What tmt knows of one plugin: where it came from, whether it loaded, what it gave."""

    name: str
    module: str
    distribution: str | None = None
    version: str | None = None
    default: bool = False
    status: str = "loaded"  # "loaded" or "failed"
    error: str | None = None
    provides: dict[str, list[str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """How messages name the plugin: ``name (distribution version)``."""
        if self.distribution:
            return f"{self.name} ({self.distribution} {self.version})"
        return self.name

    def hooks(self) -> list[str]:
        plugin = _state.pm.get_plugin(self.name) if _state.pm else None
        if plugin is None:
            return []
        return sorted(h.name for h in _state.pm.get_hookcallers(plugin) or [])

    def failed(self, error: str) -> None:
        self.status, self.error = "failed", error


class _State:
    def __init__(self) -> None:
        self.pm: pluggy.PluginManager | None = None
        self.loaded = False
        self.infos: dict[str, PluginInfo] = {}
        self.spec_modules: list[ModuleType] = [_core_hookspecs]
        self.generation = 0
        self.listeners: list[Callable[[], None]] = []


_state = _State()


def _changed() -> None:
    _state.generation += 1
    for listener in list(_state.listeners):
        listener()


def on_change(listener: Callable[[], None]) -> None:
    """Call ``listener()`` whenever plugins are registered or removed (caches drop there)."""
    _state.listeners.append(listener)


def generation() -> int:
    """A number that changes whenever the set of plugins changes."""
    return _state.generation


def plugin_manager() -> pluggy.PluginManager:
    """The pluggy manager, with every hook specification added so far (plugins not loaded)."""
    if _state.pm is None:
        pm = pluggy.PluginManager(PROJECT)
        for module in _state.spec_modules:
            pm.add_hookspecs(module)
        _state.pm = pm
    return _state.pm


def add_hookspecs(module: ModuleType) -> None:
    """Add a layer's hook specifications (``tmt_optim.hookspecs``...); idempotent.

    A plugin already registered whose implementation does not fit a new specification is
    marked failed and unregistered, not left to break the first call of the hook.
    """
    if module in _state.spec_modules:
        return
    _state.spec_modules.append(module)
    if _state.pm is None:
        return
    pm = _state.pm
    for name, spec in inspect.getmembers(module, inspect.isfunction):
        allowed = set(inspect.signature(spec).parameters)
        caller = getattr(pm.hook, name, None)
        for impl in list(caller.get_hookimpls()) if caller is not None else []:
            extra = set(impl.argnames) - allowed
            if extra:
                info = _state.infos.get(impl.plugin_name)
                message = _bad_signature(name, extra, allowed)
                if info is not None:
                    info.failed(message)
                pm.unregister(name=impl.plugin_name)
                _report(info or PluginInfo(impl.plugin_name, impl.plugin_name), message)
    pm.add_hookspecs(module)
    _changed()


def _bad_signature(hook: str, extra: set[str], allowed: set[str]) -> str:
    return (
        f"hook {hook}() takes argument(s) {sorted(extra)} that its specification "
        f"does not have (it offers {sorted(allowed)})"
    )


def _selected(env: str | None, entry_name: str, dist: str | None) -> bool:
    if env is None:
        return True
    wanted = {part.strip() for part in env.split(",") if part.strip()}
    return entry_name in wanted or (
        dist is not None and _canonical(dist) in {_canonical(w) for w in wanted}
    )


def report_problem(info: PluginInfo, message: str) -> None:
    """One stderr line for a plugin that loaded but registered something it may not.

    Catalogs are rebuilt whenever plugins change; a problem already reported is not printed
    again."""
    if message not in info.problems:
        info.problems.append(message)
        print(f"tmt: plugin {info.label}: {message}", file=sys.stderr)
    if _strict():
        raise PluginLoadError(f"plugin {info.label}: {message}")


def _remedy(info: PluginInfo) -> str:
    if info.default:
        return f"a module of tmt itself is missing or broken: reinstall {DISTRIBUTION}"
    if info.distribution:
        if os.environ.get("TMT_LOAD_PLUGINS") is not None:
            skip = f"leave {info.name!r} out of TMT_LOAD_PLUGINS"
        else:  # all plugins load: say how to choose some
            skip = "set TMT_LOAD_PLUGINS to the plugins to load (comma-separated; empty: none)"
        return f"to remove it: pip uninstall {info.distribution}; to skip it: {skip}"
    return f"to remove it: tmt_core.plugins.unregister({info.name!r})"


def _report(info: PluginInfo, message: str, strict: bool = True) -> None:
    print(f"tmt: plugin {info.label} failed to load: {message} ({_remedy(info)})", file=sys.stderr)
    if strict and _strict():
        raise PluginLoadError(f"plugin {info.label} failed to load: {message}")


def _strict() -> bool:
    return os.environ.get("TMT_STRICT_PLUGINS") == "1"


def ensure_loaded() -> None:
    """Scan the ``tmt`` entry points once and register every selected plugin.

    tmt's own default plugins load first, so a third-party plugin can replace a built-in op
    only on purpose (``override=True``), never by being found earlier on ``sys.path``. With
    ``TMT_STRICT_PLUGINS=1`` the first failure is raised after the scan, so the state stays
    whole.
    """
    if _state.loaded:
        return
    _state.loaded = True
    pm = plugin_manager()
    env = os.environ.get("TMT_LOAD_PLUGINS")
    seen: set[tuple[str | None, str]] = set()
    failures: list[PluginInfo] = []
    for entry, default in _entry_points():
        dist = entry.dist.name if entry.dist is not None else None
        if (dist, entry.name) in seen:  # the same distribution visible twice on sys.path
            continue
        seen.add((dist, entry.name))
        if not default and not _selected(env, entry.name, dist):
            continue
        # Two distributions may use the same entry-point name: the second is qualified by
        # its distribution, so it never replaces (or hides) the first one's record.
        name = entry.name if entry.name not in _state.infos else f"{dist}:{entry.name}"
        info = PluginInfo(
            name=name,
            module=entry.value,
            distribution=dist,
            version=entry.dist.version if entry.dist is not None else None,
            default=default,
        )
        _state.infos[name] = info
        try:
            pm.register(entry.load(), name=name)
        except (Exception, SystemExit) as exc:  # a broken plugin must never take tmt down
            message = _describe(exc)
            info.failed(message)
            _report(info, message, strict=False)
            failures.append(info)
    _changed()
    if failures and _strict():
        raise PluginLoadError(
            "; ".join(f"plugin {info.label} failed to load: {info.error}" for info in failures)
        )


def _entry_points() -> list[tuple[metadata.EntryPoint, bool]]:
    """Every entry point of the group, tmt's own (default) ones first, each in scan order."""
    entries = [
        (entry, entry.dist is not None and _canonical(entry.dist.name) == DISTRIBUTION)
        for entry in metadata.entry_points(group=PROJECT)
    ]
    return sorted(entries, key=lambda pair: not pair[1])


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, pluggy.PluginValidationError):
        # pluggy's message spans three lines; a load failure is reported on one
        return "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return text.splitlines()[-1] if text else type(exc).__name__


def register(plugin: object, name: str | None = None) -> str:
    """Register a plugin object or module by hand (tests, notebooks); returns its name."""
    ensure_loaded()
    pm = plugin_manager()
    name = name or getattr(plugin, "__name__", None) or repr(plugin)
    info = PluginInfo(name=name, module=getattr(plugin, "__name__", type(plugin).__name__))
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as exc:
        raise PluginLoadError(f"plugin {name!r} is invalid: {exc}") from exc
    _state.infos[name] = info
    _changed()
    return name


def unregister(name: str) -> None:
    """Remove a plugin registered by hand or by entry point."""
    pm = plugin_manager()
    if pm.get_plugin(name) is not None:
        pm.unregister(name=name)
    _state.infos.pop(name, None)
    _changed()


def plugin_infos() -> list[PluginInfo]:
    """Every plugin tmt tried to load, default ones included, in load order."""
    ensure_loaded()
    return list(_state.infos.values())


def plugin_info(name: str) -> PluginInfo | None:
    return _state.infos.get(name)


def failed_plugins() -> list[PluginInfo]:
    return [info for info in plugin_infos() if info.status == "failed"]


def call_register_hook(
    hook: str,
    register_for: Callable[[PluginInfo], Callable[..., Any]],
    discard: Callable[[PluginInfo], None] | None = None,
) -> None:
    """Call ``hook(register=...)`` on every plugin, each with its own ``register`` callback.

    Calling implementations one by one lets the host know which plugin registered what, and
    a plugin whose hook raises is reported and skipped while the others keep working:
    ``discard(info)`` lets the host drop what that plugin registered before it raised.
    """
    ensure_loaded()
    caller = getattr(plugin_manager().hook, hook)
    # get_hookimpls() lists implementations in registration order (pluggy calls them in
    # reverse); registration order makes the first provider of a name keep it.
    for impl in caller.get_hookimpls():
        info = _state.infos.get(impl.plugin_name) or PluginInfo(
            impl.plugin_name, impl.plugin_name
        )
        if info.status == "failed":
            continue
        kwargs = {"register": register_for(info)}
        try:
            impl.function(**{k: v for k, v in kwargs.items() if k in impl.argnames})
        except PluginLoadError:
            raise
        except Exception as exc:
            message = f"{hook}() raised {_describe(exc)}"
            info.failed(message)
            if discard is not None:
                discard(info)
            _report(info, message)


def reset() -> None:
    """Forget every plugin and scan the entry points again on next use (tests)."""
    spec_modules = _state.spec_modules
    listeners = _state.listeners
    generation = _state.generation
    _state.__init__()  # type: ignore[misc]
    _state.spec_modules = spec_modules
    _state.listeners = listeners
    _state.generation = generation  # never goes back: a catalog built before must rebuild
    _changed()

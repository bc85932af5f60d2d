"""A catalog of named things that plugins register through a hook: ops, optimizers, datasets,
reporters. One place owns validation, name conflicts, provider attribution and lookups that
suggest close names."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Callable, Generic, Iterator, TypeVar

from . import plugins
from .errors import NotFoundError, RegistrationError

__all__ = ["Catalog", "Entry", "subclass_of"]

T = TypeVar("T")


def subclass_of(base: type[T], kind: str) -> Callable[[Any, str, plugins.PluginInfo], type[T]]:
    """A catalog's ``validate`` for registered classes: each must subclass ``base``. The error
    names the ``kind``, the name, the plugin and ``base`` as users import it (its top-level
    package, e.g. ``tmt_optim.Optimizer``)."""
    public_name = f"{base.__module__.partition('.')[0]}.{base.__qualname__}"

    def validate(value: Any, name: str, provider: plugins.PluginInfo) -> type[T]:
        if not (isinstance(value, type) and issubclass(value, base)):
            raise RegistrationError(
                f"{kind} {name!r} from plugin {provider.label}: expected a subclass of "
                f"{public_name}, got {value!r}"
            )
        return value

    return validate


@dataclass(frozen=True)
class Entry(Generic[T]):
    name: str
    value: T
    provider: plugins.PluginInfo


class Catalog(Generic[T]):
    """Things of one ``kind`` registered through the hook ``hook(register)``.

    ``validate(value, name, provider)`` checks a registration and returns what is stored; it
    raises :class:`RegistrationError` naming the culprit. The table is built on first use and
    rebuilt whenever the set of plugins changes.
    """

    not_found_error: type[NotFoundError] = NotFoundError

    def __init__(
        self,
        kind: str,
        hook: str,
        validate: Callable[[Any, str, plugins.PluginInfo], T] | None = None,
        name_of: Callable[[Any], str | None] | None = None,
    ) -> None:
        self.kind = kind
        self.hook = hook
        self._validate = validate
        self._name_of = name_of or (lambda value: getattr(value, "name", None))
        self._entries: dict[str, Entry[T]] | None = None
        self._generation = -1

    # ------------------------------------------------------------------ building
    def _register_for(
        self, entries: dict[str, Entry[T]], info: plugins.PluginInfo
    ) -> Callable[..., None]:
        def register(value: Any, *, name: str | None = None, override: bool = False) -> None:
            key = name or self._name_of(value)
            if not isinstance(key, str) or not key:
                raise RegistrationError(
                    f"plugin {info.label} called register() for a {self.kind} without a "
                    f"name: {value!r} (give it a 'name' attribute or call "
                    f"register(value, name=...))"
                )
            stored = self._validate(value, key, info) if self._validate else value
            existing = entries.get(key)
            if existing is not None and not override:
                plugins.report_problem(
                    info,
                    f"{self.kind} {key!r} is already registered by {existing.provider.label}; "
                    f"kept that one (register(..., override=True) replaces it on purpose)",
                )
                return
            entries[key] = Entry(key, stored, info)
            info.provides.setdefault(self.kind, [])
            if key not in info.provides[self.kind]:
                info.provides[self.kind].append(key)

        return register

    def _table(self) -> dict[str, Entry[T]]:
        if self._entries is not None and self._generation == plugins.generation():
            return self._entries
        plugins.ensure_loaded()
        generation = plugins.generation()
        entries: dict[str, Entry[T]] = {}
        before: dict[str, Entry[T]] = {}

        def register_for(info: plugins.PluginInfo) -> Callable[..., None]:
            before.clear()
            before.update(entries)  # what to go back to if this plugin's hook raises
            return self._register_for(entries, info)

        def discard(info: plugins.PluginInfo) -> None:
            entries.clear()
            entries.update(before)
            info.provides.pop(self.kind, None)

        for info in plugins.plugin_infos():
            info.provides.pop(self.kind, None)
        # Built into a local table and kept only when complete: a hook that raises (strict
        # mode) leaves no half-built table behind, and the next lookup tries again.
        plugins.call_register_hook(self.hook, register_for, discard)
        self._entries, self._generation = entries, generation
        return entries

    # ------------------------------------------------------------------ lookups
    def get(self, name: str) -> T:
        return self.entry(name).value

    def entry(self, name: str) -> Entry[T]:
        table = self._table()
        found = table.get(name)
        if found is None:
            raise self.not_found_error(self.missing_message(name))
        return found

    def missing_message(self, name: str) -> str:
        table = self._table()
        message = f"no {self.kind} named {name!r}"
        close = difflib.get_close_matches(str(name), list(table), n=5, cutoff=0.5)
        message += f"; did you mean {', '.join(close)}?" if close else "."
        available = sorted(table)
        if len(available) <= 30:
            message += f" Available: {', '.join(available) or '(none)'}."
        else:
            message += f" {len(available)} are registered (`tmt {self.kind}s` lists them)."
        for info in plugins.failed_plugins():
            message += f" Plugin {info.label} failed to load ({info.error}) and may provide it."
        return message

    def names(self) -> list[str]:
        return sorted(self._table())

    def entries(self) -> list[Entry[T]]:
        return [self._table()[name] for name in self.names()]

    def __contains__(self, name: object) -> bool:
        return name in self._table()

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._table())

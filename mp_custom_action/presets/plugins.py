"""The plugin manager: loads plugins once, lazily, and keeps one bad plugin from hurting the others.

Plugins are the modules of :data:`DEFAULT_PLUGINS` (the built-in presets) and those registered
under the ``mp_custom_action`` entry-point group, in that order. Loading happens on the first call
of :func:`preset_registry` or :func:`plugin_api_registry`, never at import: a plain ``call`` does
not pay for reading entry points or importing pluggy.

A plugin is untrusted input. Each fault (an import error, a hook that raises, an unmarked or
misspelt hook, a refused preset or API selector) is recorded as a :class:`PluginFault` naming the
plugin; the plugin (or just the refused definition) is skipped and the others keep working.
Faults are shown as :class:`~mp_custom_action.errors.PluginWarning` once, or raised as one
:class:`~mp_custom_action.errors.PluginError` under ``strict`` (``--strict-plugins``,
``MP_STRICT_PLUGINS=1``). Two plugins offering the same preset name is never resolved silently:
listing warns naming both, and running that name is an error naming both.
"""

from __future__ import annotations

import difflib
import importlib
import os
import threading
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Optional

from .._text import first_line as _first_line
from ..core.apis import ApiRegistry, ApiSpec, api_from_definition
from ..errors import PluginError, PluginWarning, PresetInputError
from .families import BUILTIN_PLUGINS

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    import pluggy

    from .model import Preset

__all__ = [
    "DEFAULT_PLUGINS",
    "ENTRY_POINT_GROUP",
    "PluginFault",
    "PluginSet",
    "PresetRegistry",
    "api_lookup",
    "load_plugins",
    "loaded_plugins",
    "plugin_api_registry",
    "preset_registry",
    "reset_plugins",
    "strict_from_env",
]

ENTRY_POINT_GROUP = "mp_custom_action"

#: Plugins that ship with mp-custom-action: name -> ``module`` or ``module:attribute`` (see
#: :data:`.families.BUILTIN_PLUGINS`: the seed's ``builtin`` and one ``builtin.<family>`` each).
DEFAULT_PLUGINS: Mapping[str, str] = BUILTIN_PLUGINS

_HOOK_APIS = "mp_custom_action_apis"
_HOOK_PRESETS = "mp_custom_action_presets"


@dataclass(frozen=True)
class PluginFault:
    """Something a plugin got wrong; ``message`` is one line."""

    plugin: str
    message: str

    def __str__(self) -> str:
        return f"plugin {self.plugin!r}: {self.message}"


class PresetRegistry:
    """The presets of all plugins by name; a name offered twice is kept as a conflict, not resolved."""

    def __init__(self, presets: Iterable[Preset] = ()) -> None:
        self._by_name: dict[str, list[Preset]] = {}
        for preset in presets:
            self._by_name.setdefault(preset.name, []).append(preset)

    def __iter__(self) -> Iterator[Preset]:
        for name in sorted(self._by_name, key=str.lower):
            yield from self._by_name[name]

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_name.values())

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def names(self) -> list[str]:
        return sorted(self._by_name, key=str.lower)

    def conflicts(self) -> dict[str, tuple[str, ...]]:
        """Preset names offered by more than one plugin -> the plugins offering them."""
        return {
            name: tuple(p.plugin for p in found)
            for name, found in sorted(self._by_name.items())
            if len(found) > 1
        }

    def get(self, name: object, *, field: str = "preset") -> Preset:
        """The preset called ``name``: unknown is an input error, a conflict a plugin error."""
        found = self._by_name.get(name) if isinstance(name, str) else None
        if not found:
            close = difflib.get_close_matches(str(name), list(self._by_name), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else " (see: presets list)"
            raise PresetInputError(f"unknown preset {name!r}{hint}", field=field)
        if len(found) > 1:
            plugins = tuple(p.plugin for p in found)
            raise PluginError(
                f"preset {name!r} is offered by more than one plugin ({_names(plugins)}); "
                "uninstall one of them",
                plugins=plugins,
            )
        return found[0]


@dataclass
class PluginSet:
    """What loading plugins produced: the plugins, their API selectors and presets, and the faults."""

    plugins: list[str] = field(default_factory=list)
    apis: ApiRegistry = field(default_factory=ApiRegistry)
    presets: PresetRegistry = field(default_factory=PresetRegistry)
    faults: list[PluginFault] = field(default_factory=list)
    _reported: bool = field(default=False, repr=False)

    def report(self, strict: Optional[bool] = None, *, conflicts: bool = False) -> None:
        """Warn about each fault once, or raise them all as one :class:`PluginError` if ``strict``.

        ``conflicts`` adds the preset names offered twice (``presets list`` shows those).
        """
        if strict is None:
            strict = strict_from_env()
        faults = [] if self._reported and not strict else list(self.faults)
        if conflicts:
            for name, plugins in self.presets.conflicts().items():
                faults.append(
                    PluginFault(
                        plugins[-1],
                        f"preset {name!r} is offered by more than one plugin ({_names(plugins)}); "
                        "running it is an error until one is uninstalled",
                    )
                )
        if strict and faults:
            lines = "; ".join(str(f) for f in faults)
            raise PluginError(
                f"plugin problems (strict mode): {lines}",
                plugins=tuple(dict.fromkeys(f.plugin for f in faults)),
            )
        self._reported = True
        for fault in faults:
            warnings.warn(str(fault), PluginWarning, stacklevel=3)


def strict_from_env(env: Optional[Mapping[str, str]] = None) -> bool:
    """``MP_STRICT_PLUGINS=1`` (or true/yes/on) turns plugin warnings into errors."""
    value = (os.environ if env is None else env).get("MP_STRICT_PLUGINS", "")
    return value.strip().lower() in ("1", "true", "yes", "on")


# -- loading -------------------------------------------------------------------------------------


def _entry_points() -> list[EntryPoint]:
    """The installed plugins' entry points (de-duplicated: one distribution may be on the path twice)."""
    from importlib import metadata

    eps: Iterable[EntryPoint]
    try:
        eps = metadata.entry_points(group=ENTRY_POINT_GROUP)
    except TypeError:  # Python 3.9: a dict of group -> entry points
        every: Any = metadata.entry_points()
        eps = every.get(ENTRY_POINT_GROUP, [])
    unique: dict[tuple[str, str], EntryPoint] = {}
    for ep in eps:
        unique.setdefault((ep.name, ep.value), ep)
    return sorted(unique.values(), key=lambda ep: ep.name)


def load_plugins(
    *,
    default_plugins: Mapping[str, str] = DEFAULT_PLUGINS,
    entry_points: Optional[Iterable[EntryPoint]] = None,
) -> PluginSet:
    """Load plugins now (not cached; :func:`loaded_plugins` is the cached form).

    ``entry_points`` defaults to the installed ones of the ``mp_custom_action`` group.
    """
    import pluggy

    from . import hookspecs

    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    out = PluginSet()

    # Our own plugins' preset schemas are data we ship, checked against the JSON Schema
    # metaschema by the tests: that check is skipped for them (most of loading's time).
    candidates: list[tuple[str, str, Callable[[], Any], bool]] = [
        (name, module, _importer(module), DEFAULT_PLUGINS.get(name) == module)
        for name, module in default_plugins.items()
    ]
    for ep in _entry_points() if entry_points is None else entry_points:
        candidates.append((ep.name, ep.value, ep.load, False))

    registered: list[tuple[str, Any, bool]] = []
    for name, target, load, ours in candidates:
        try:
            plugin = load()
        except Exception as exc:  # a broken plugin must not take the others down
            out.faults.append(
                PluginFault(name, f"skipped: cannot import {target}: {_one_line(exc)}")
            )
            continue
        if _register(pm, name, plugin, out):
            registered.append((name, plugin, ours))

    api_defs: list[tuple[str, list[Any]]] = []
    preset_defs: list[tuple[str, list[Any], bool]] = []
    for name, plugin, ours in registered:
        results = _call_hooks(pm, name, out)
        if results is None:
            pm.unregister(plugin)
            continue
        out.plugins.append(name)
        api_defs.append((name, results.get(_HOOK_APIS, [])))
        preset_defs.append((name, results.get(_HOOK_PRESETS, []), ours))

    out.apis = _api_registry(api_defs, out)
    out.presets = _preset_registry(preset_defs, out.apis, out)
    return out


def _api_registry(api_defs: list[tuple[str, list[Any]]], out: PluginSet) -> ApiRegistry:
    """The built-in selectors plus each plugin's that passes its checks (a fault otherwise)."""
    from ..core.apis import builtin_registry

    apis = ApiRegistry(list(builtin_registry))  # a copy: plugins never change the built-in one
    for name, definitions in api_defs:
        for definition in definitions:
            try:
                apis.add(api_from_definition(definition, plugin=name))
            except Exception as exc:  # a definition is untrusted data: any failure refuses it
                out.faults.append(PluginFault(name, f"API selector refused: {_one_line(exc)}"))
    return apis


def _preset_registry(
    preset_defs: list[tuple[str, list[Any], bool]], apis: ApiRegistry, out: PluginSet
) -> PresetRegistry:
    """Each plugin's presets that pass their checks (a fault naming the plugin otherwise)."""
    from .definitions import preset_from_definition
    from .model import PresetDefinitionError

    presets = []
    for name, definitions, ours in preset_defs:
        for definition in definitions:
            try:
                presets.append(
                    preset_from_definition(definition, plugin=name, apis=apis, trusted=ours)
                )
            except PresetDefinitionError as exc:
                out.faults.append(PluginFault(name, f"preset refused: {_first_line(str(exc))}"))
            except Exception as exc:  # what the checks did not foresee still refuses only this one
                out.faults.append(PluginFault(name, f"preset refused: {_one_line(exc)}"))
    return PresetRegistry(presets)


def _importer(target: str) -> Callable[[], Any]:
    module, _, attribute = target.partition(":")

    def load() -> Any:
        loaded = importlib.import_module(module)
        return getattr(loaded, attribute) if attribute else loaded

    return load


def _register(pm: pluggy.PluginManager, name: str, plugin: Any, out: PluginSet) -> bool:
    try:
        pm.register(plugin, name=name)
    except Exception as exc:  # a name already taken, or an implementation its spec rejects
        out.faults.append(PluginFault(name, f"skipped: {_one_line(exc)}"))
        return False
    # A hook implementation pluggy does not know (misspelt) or one not marked with hookimpl
    # would be ignored silently; say so instead.
    for caller in pm.get_hookcallers(plugin) or []:
        if caller.spec is None:
            out.faults.append(
                PluginFault(
                    name, f"unknown hook {caller.name!r} (known: {_HOOK_APIS}, {_HOOK_PRESETS})"
                )
            )
    for attr in (_HOOK_APIS, _HOOK_PRESETS):
        if callable(getattr(plugin, attr, None)) and pm.parse_hookimpl_opts(plugin, attr) is None:
            out.faults.append(
                PluginFault(
                    name, f"{attr} is not marked with @mp_custom_action.hookimpl and is ignored"
                )
            )
    return True


def _call_hooks(
    pm: pluggy.PluginManager, name: str, out: PluginSet
) -> Optional[dict[str, list[Any]]]:
    """Call each hook of one plugin (with keyword arguments); ``None`` if one raised."""
    results: dict[str, list[Any]] = {}
    for hook_name in (_HOOK_APIS, _HOOK_PRESETS):
        caller = getattr(pm.hook, hook_name)
        for impl in caller.get_hookimpls():
            if impl.plugin_name != name:
                continue
            try:
                value = impl.function(**dict.fromkeys(impl.argnames))
            except Exception as exc:
                out.faults.append(
                    PluginFault(name, f"skipped: {hook_name} raised {_one_line(exc)}")
                )
                return None
            if value is None:
                value = []
            if not isinstance(value, (list, tuple)):
                out.faults.append(
                    PluginFault(
                        name, f"skipped: {hook_name} returned {type(value).__name__}, not a list"
                    )
                )
                return None
            results.setdefault(hook_name, []).extend(value)
    return results


def _one_line(exc: BaseException) -> str:
    """``ExcType: first line of the message``: a warning is one line, whatever the plugin raised."""
    first = _first_line(str(exc))
    if type(exc) in (ValueError, TypeError) and first:
        return first  # our own checks' messages say enough
    kind = type(exc).__name__
    return f"{kind}: {first}" if first else kind


def _names(plugins: Iterable[str]) -> str:
    return " and ".join(repr(p) for p in plugins)


# -- the process-wide plugin set ------------------------------------------------------------------

_lock = threading.Lock()
_loaded: Optional[PluginSet] = None


def loaded_plugins() -> PluginSet:
    """The plugins of this process, loaded on first use and kept."""
    global _loaded
    if _loaded is None:
        with _lock:
            if _loaded is None:
                _loaded = load_plugins()
    return _loaded


def reset_plugins() -> None:
    """Forget the loaded plugins (after installing one, or between tests); the next use reloads."""
    global _loaded
    with _lock:
        _loaded = None


def preset_registry(*, strict: Optional[bool] = None) -> PresetRegistry:
    """All presets (built-in and plugins'), reporting plugin faults (see :meth:`PluginSet.report`)."""
    plugins = loaded_plugins()
    plugins.report(strict)
    return plugins.presets


def plugin_api_registry(*, strict: Optional[bool] = None) -> ApiRegistry:
    """The built-in API selectors plus those plugins add (used for API names we do not ship)."""
    plugins = loaded_plugins()
    plugins.report(strict)
    return plugins.apis


def api_lookup(name: object) -> ApiSpec:
    """An API selector by name: built-in ones first, plugins loaded only for a name we lack.

    The lookup to give :class:`~mp_custom_action.core.runner.Runner` (``apis=api_lookup``) so that
    it knows the selectors plugins add; the command line does.
    """
    from ..core.apis import builtin_registry

    if name in builtin_registry:
        return builtin_registry.get(name)
    return plugin_api_registry().get(name)

"""The plugin hook specifications of mp-custom-action, and the markers plugins use.

A plugin is a module registered under the ``mp_custom_action`` entry-point group::

    [project.entry-points.mp_custom_action]
    my_presets = "my_package.presets"

and marks its hook implementations with :data:`hookimpl`. Each hook takes no argument and returns
a list; an implementation may accept fewer arguments than its spec, so a spec can grow without
breaking plugins. Every hook is documented in docs/plugins.md (a test keeps that page in step).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Union

from pluggy import HookimplMarker, HookspecMarker

if TYPE_CHECKING:
    from ..core.apis import ApiSpec
    from .model import Preset

__all__ = ["hookimpl", "hookspec", "mp_custom_action_apis", "mp_custom_action_presets"]

PROJECT = "mp_custom_action"

hookspec = HookspecMarker(PROJECT)
hookimpl = HookimplMarker(PROJECT)

#: A preset definition: a :class:`~mp_custom_action.presets.model.Preset` or a plain dict of its fields.
PresetDefinition = Union["Preset", dict[str, Any]]
#: An API selector definition: an :class:`~mp_custom_action.core.apis.ApiSpec` or a plain dict.
ApiDefinition = Union["ApiSpec", dict[str, Any]]


@hookspec
def mp_custom_action_presets() -> list[PresetDefinition]:  # type: ignore[empty-body]
    """Return the presets this plugin offers.

    :return: a list of preset definitions, each a ``Preset`` or a dict with the keys ``name``,
        ``api``, ``method``, ``path``, ``summary`` and ``input_schema`` (``example``,
        ``description`` and ``responses`` are optional). A definition that is not safe (an
        absolute URL or ``..`` in its path, an unknown API, a method other than GET, POST, PUT,
        PATCH or DELETE, a schema that is not valid JSON Schema) is refused with a warning
        naming the plugin.
    """


@hookspec
def mp_custom_action_apis() -> list[ApiDefinition]:  # type: ignore[empty-body]
    """Return the API selectors this plugin adds, for Mixpanel APIs mp-custom-action does not ship.

    :return: a list of API definitions, each an ``ApiSpec`` or a dict with the keys ``name``,
        ``base_urls`` (an ``https://`` URL for each of ``us``, ``eu`` and ``in``) and ``accepts``
        (credential kinds: ``service_account``, ``secret``, ``token_basic``, ``token_data``);
        ``display_name``, ``aliases`` and ``project_id`` (does a service account need the
        ``project_id`` query parameter; default false) are optional. A name already taken is
        refused with a warning naming both owners.
    """

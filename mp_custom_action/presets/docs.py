"""docs/presets.md, generated from the preset definitions: ``python -m mp_custom_action.presets.docs``.

The page groups the built-in presets by family (one built-in plugin each), and lists each preset
with its media type, every input field (its JSON path, type, allowed values and whether it is
required), walked from the preset's input schema, and an example input. A test renders the
built-in presets and compares the result with the page, so the page cannot drift from
``actions/``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .model import Preset

__all__ = ["builtin_presets", "render_markdown"]

_HEADER = """\
# Presets

<!-- Generated from actions/*.presets.json and actions/*.openapi.json by
     `python -m mp_custom_action.presets.docs > docs/presets.md`. Do not edit by hand:
     tests/presets/test_plugins_docs.py fails when this page and the definitions differ. -->

A preset is a named, typed action: a method, an API, a path template and an input schema. There
is one for every operation of Mixpanel's API reference, named by Mixpanel's operation id
(`query-jql`, `list-warehouse-imports`, `create-retrieval`, ...), and grouped by family: each
family is a built-in plugin (`builtin.<family>`), loaded exactly like a third-party one.

A preset's input is one JSON object: path parameters at the top level, the request body under
`body`, query parameters under `query`. `projectId` defaults to `MP_PROJECT_ID`; so does the
`project_id` Mixpanel wants beside a service account (the connector adds it). The input is
checked against the preset's schema before anything is sent; a failure names the field
(`body.type`), says what was expected, and exits with status 2. The body is sent in the
preset's media type: JSON, a form (`application/x-www-form-urlencoded`: objects and arrays in a
field go as JSON text, as Mixpanel expects for `params` and `data`) or CSV (`text/csv`).

```sh
mp-custom-action presets list                      # every preset, plugins' included
mp-custom-action presets list --api query          # the presets of one API selector
mp-custom-action presets list lookup               # names or summaries holding "lookup"
mp-custom-action presets show query-jql            # media type, input schema and example
mp-custom-action preset query-jql --input @jql.json --dry-run
```

Path values are percent-encoded as one path segment (`a/b` is sent as `a%2Fb`); `.` and `..`
are refused. `--check-response` warns (without failing) when a response body does not match the
schema declared for its status. Plugins add presets: see [plugins.md](plugins.md).
"""

_SEED = """\
The seed's model of the Warehouse Connectors API: warehouse *sources* (`/warehouse-sources`,
`/warehouse-sources/{sourceId}`, its `/tables` and `/runs`), from the seed's OpenAPI document
(`actions/warehouse-connectors.openapi.json`). They stay beside the published operations of
[Warehouse Connectors API (published)](#warehouse-connectors-api-published), which address
`/warehouse-sources/imports...`. The two would meet at `GET
/projects/{projectId}/warehouse-sources/imports`: `getWarehouseSource` with `sourceId` `imports`
is `list-warehouse-imports`. The seed's `sourceId` therefore refuses the literal `imports`
(an input error, exit 2, nothing sent): that URL is always `list-warehouse-imports`. In Python,
`mp_custom_action.presets.warehouse.WarehouseConnectors` has one typed method per seed preset.
Service account only (`MP_USERNAME`, `MP_SECRET`).
"""


def render_markdown(presets: Iterable[Preset]) -> str:
    """The presets page for ``presets``: families in reference order, each in the order given."""
    groups: dict[str, list[Preset]] = {}
    for preset in presets:
        groups.setdefault(preset.plugin, []).append(preset)
    sections = _sections(groups)
    out = [_HEADER, "| Family | Plugin | API | Presets |", "|---|---|---|---|"]
    for title, plugin, group, _about in sections:
        apis = ", ".join(dict.fromkeys(f"`{p.api}`" for p in group))
        out.append(f"| [{title}](#{_anchor(title)}) | `{plugin}` | {apis} | {len(group)} |")
    for title, plugin, group, about in sections:
        out += ["", f"## {title}", "", f"Plugin `{plugin}`. {about}".rstrip(), ""]
        out += ["| Preset | Method | Path | Summary |", "|---|---|---|---|"]
        for p in group:
            out.append(
                f"| [`{p.name}`](#{p.name.lower()}) | {p.method} | `{p.path}` | "
                f"{_cell(p.summary)} |"
            )
        for p in group:
            out += _preset_section(p)
    return "\n".join(out) + "\n"


def _sections(groups: Mapping[str, list[Preset]]) -> list[tuple[str, str, list[Preset], str]]:
    """(title, plugin, presets, about) for each plugin: families first, the seed, then others."""
    from .builtin import FAMILIES

    out = []
    left = dict(groups)
    for family in FAMILIES:
        plugin = f"builtin.{family.name}"
        if plugin in left:
            document = family.document()
            title = str(document.get("title") or family.name)
            about = " ".join(
                part
                for part in (
                    str(document.get("about") or ""),
                    f"Mixpanel's reference: <{document['reference']}>."
                    if document.get("reference")
                    else "",
                )
                if part
            )
            out.append((title, plugin, left.pop(plugin), about))
    if "builtin" in left:
        out.append(("Warehouse sources (the seed's model)", "builtin", left.pop("builtin"), _SEED))
    for plugin, group in left.items():
        out.append((f"Plugin {plugin}", plugin, group, ""))
    return out


def _preset_section(p: Preset) -> list[str]:
    out = ["", f"### {p.name}", ""]
    if p.summary:
        out += [f"{p.summary}.", ""]
    if p.description:
        out += [p.description, ""]
    media = f", body sent as `{p.media_type}`" if p.media_type else ", no body"
    out += [f"`{p.method} {p.path}` on the `{p.api}` API{_us_url(p)}{media}.", ""]
    fields = list(_fields(p.input_schema))
    if fields:
        out += ["| Input | Type | Required | Description |", "|---|---|---|---|"]
        for path, schema, required in fields:
            need = "yes" if required else "no"
            description = schema.get("description", "")
            out.append(f"| `{path}` | {_type(schema)} | {need} | {_cell(description)} |")
    else:
        out.append("No input.")
    if p.example is not None:
        out += ["", "Example input:", "", "```json", json.dumps(p.example, indent=2), "```"]
    if p.responses:
        statuses = ", ".join(sorted(p.responses))
        out += ["", f"Response schema checked by `--check-response` for status {statuses}."]
    return out


def _us_url(p: Preset) -> str:
    from ..core.apis import builtin_registry

    if p.api not in builtin_registry:
        return ""
    base = builtin_registry.get(p.api).base_url("us")
    return f" (US: `{base}{'' if p.path == '/' else p.path}`)"


def _anchor(title: str) -> str:
    kept = "".join(c for c in title.lower() if c.isalnum() or c in " -")
    return kept.replace(" ", "-")


def _fields(
    schema: Mapping[str, Any], prefix: str = ""
) -> Iterator[tuple[str, Mapping[str, Any], bool]]:
    """(JSON path, schema, required in its object) for every property, depth first."""
    props = schema.get("properties")
    if not isinstance(props, Mapping):
        return
    required = schema.get("required", [])
    for name, sub in props.items():
        path = f"{prefix}{name}"
        yield path, sub, name in required
        yield from _fields(sub, f"{path}.")
        items = sub.get("items")
        if _kind(sub) == "array" and isinstance(items, Mapping):
            yield from _fields(items, f"{path}[].")


def _kind(schema: Mapping[str, Any]) -> Any:
    kind = schema.get("type")
    if isinstance(kind, list) and len(kind) == 2 and "null" in kind:
        return next(k for k in kind if k != "null")
    return kind


def _type(schema: Mapping[str, Any]) -> str:
    if "const" in schema:
        return f"`{_json(schema['const'])}`"
    if "enum" in schema:
        return "one of " + ", ".join(f"`{_json(v)}`" for v in schema["enum"])
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        kind = " or ".join(kind)
    if kind == "array" and isinstance(schema.get("items"), Mapping):
        kind = f"array of {_type(schema['items'])}"
    if "minimum" in schema:
        kind += f" ≥ {schema['minimum']}"
    if "maximum" in schema:
        kind += f" ≤ {schema['maximum']}"
    if schema.get("minLength") == 1:
        kind += " (non-empty)"
    if "maxLength" in schema:
        kind += f" (at most {schema['maxLength']} characters)"
    if "maxItems" in schema:
        kind += f" (at most {schema['maxItems']})"
    if schema.get("format"):
        kind += f" ({schema['format']})"
    if schema.get("contentMediaType"):
        kind += f" ({schema['contentMediaType']})"
    refused = schema.get("not")
    if isinstance(refused, Mapping) and str(refused.get("pattern", "")).startswith("^"):
        kind += f", not matching `{refused['pattern']}`"
    return str(kind)


def _json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def builtin_presets() -> list[Preset]:
    """The built-in presets alone (no third-party plugin), checked as the plugin manager does."""
    from .plugins import load_plugins

    plugins = load_plugins(entry_points=())
    if plugins.faults:
        raise RuntimeError("; ".join(str(f) for f in plugins.faults))
    return list(plugins.presets)


if __name__ == "__main__":  # pragma: no cover - exercised by the docs test through render_markdown
    sys.stdout.write(render_markdown(builtin_presets()))

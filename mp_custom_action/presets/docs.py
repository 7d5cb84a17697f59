"""docs/presets.md, generated from the preset definitions: ``python -m mp_custom_action.presets.docs``.

The page lists each preset with every input field (its JSON path, type, allowed values and
whether it is required), walked from the preset's input schema, and an example input. A test
renders the built-in presets and compares the result with the page, so the page cannot drift
from ``actions/``.
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

<!-- Generated from actions/*.openapi.json by `python -m mp_custom_action.presets.docs > docs/presets.md`.
     Do not edit by hand: tests/test_plugins_docs.py fails when this page and the definitions differ. -->

A preset is a named, typed action: a method, an API, a path template and an input schema. Its
input is one JSON object: path parameters at the top level, the request body under `body`, query
parameters under `query`. `projectId` defaults to `MP_PROJECT_ID`. The input is checked against
the preset's schema before anything is sent; a failure names the field (`body.type`), says what
was expected, and exits with status 2.

```sh
mp-custom-action presets list                      # every preset, plugins' included
mp-custom-action presets show createWarehouseSource  # input schema and example, for a form
mp-custom-action preset getWarehouseSource --input '{"sourceId": "src_abc123"}'
```

Path values are percent-encoded as one path segment (`a/b` is sent as `a%2Fb`); `.` and `..`
are refused. `--check-response` warns (without failing) when a response body does not match the
schema declared for its status. In Python, `mp_custom_action.presets.warehouse.WarehouseConnectors`
has one typed method per preset below. Plugins add presets: see [plugins.md](plugins.md).

The built-in presets call the Connectors API (`https://mixpanel.com/api/app`, `eu.`, `in.`),
which accepts service-account credentials only (`MP_USERNAME`, `MP_SECRET`).
"""


def render_markdown(presets: Iterable[Preset]) -> str:
    """The presets page for ``presets``, in the order given."""
    presets = list(presets)
    out = [_HEADER, "| Preset | Method | Path | Summary |", "|---|---|---|---|"]
    for p in presets:
        out.append(
            f"| [`{p.name}`](#{p.name.lower()}) | {p.method} | `{p.path}` | {_cell(p.summary)} |"
        )
    for p in presets:
        out += ["", f"## {p.name}", ""]
        if p.description:
            out += [p.description, ""]
        out += [f"`{p.method} {p.path}` on the `{p.api}` API (plugin `{p.plugin}`).", ""]
        out += ["| Input | Type | Required | Description |", "|---|---|---|---|"]
        for path, schema, required in _fields(p.input_schema):
            need = "yes" if required else "no"
            description = schema.get("description", "")
            out.append(f"| `{path}` | {_type(schema)} | {need} | {_cell(description)} |")
        if p.example is not None:
            out += ["", "Example input:", "", "```json", json.dumps(p.example, indent=2), "```"]
        if p.responses:
            statuses = ", ".join(sorted(p.responses))
            out += ["", f"Response schema checked by `--check-response` for status {statuses}."]
    return "\n".join(out) + "\n"


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
        if sub.get("type") == "array" and isinstance(items, Mapping):
            yield from _fields(items, f"{path}[].")


def _type(schema: Mapping[str, Any]) -> str:
    if "enum" in schema:
        return "one of " + ", ".join(f"`{v}`" for v in schema["enum"])
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        kind = " or ".join(kind)
    if kind == "array" and isinstance(schema.get("items"), Mapping):
        kind = f"array of {_type(schema['items'])}"
    if "minimum" in schema:
        kind += f" ≥ {schema['minimum']}"
    if schema.get("minLength") == 1:
        kind += " (non-empty)"
    if schema.get("format"):
        kind += f" ({schema['format']})"
    return str(kind)


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

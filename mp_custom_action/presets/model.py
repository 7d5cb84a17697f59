"""Presets: named, typed actions (a method, an API, a path template and an input schema).

A preset's input is one JSON object: path parameters at the top level (``projectId``,
``sourceId``), the request body under ``body`` and query parameters under ``query``. The input is
checked against the preset's JSON Schema by a validator compiled once per preset and reused, then
turned into the card inputs the runner already knows (:meth:`Preset.to_inputs`)::

    {"projectId": 12345, "sourceId": "a/b", "body": {"schedule": "daily"}}
        -> {"method": "PATCH", "api": "connectors",
            "relative_url": "/projects/12345/warehouse-sources/a%2Fb",
            "query": None, "body": {"schedule": "daily"}}

Each path value is percent-encoded as exactly one path segment, so a value can never add a
segment; the rendered path then goes through the runner's relative-URL checks like any other.

This module also holds the path template grammar (:func:`parse_path_template`), which a Preset
needs to know its path parameters. Definitions come from plugins and are untrusted:
:mod:`.definitions` checks them (:func:`~.definitions.preset_from_definition`) and builds the
Preset; :mod:`.run` runs one by name. ``jsonschema`` is imported only when a preset is built or
used.
"""

from __future__ import annotations

import copy
import functools
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Optional
from urllib.parse import quote

from ..errors import PresetInputError, ResponseSchemaWarning
from .schemas import all_errors, best_error, compile_schema, json_type, show

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

    from ..core.results import Result

__all__ = [
    "BODY_KEY",
    "DEFINITION_FIELDS",
    "QUERY_KEY",
    "Preset",
    "PresetDefinitionError",
    "ResponseSchemaWarning",
    "parse_path_template",
]

#: The keys of a preset definition given as a dict (what ``presets show`` prints, plus extras).
DEFINITION_FIELDS = (
    "name",
    "api",
    "method",
    "path",
    "summary",
    "input_schema",
    "example",
    "description",
    "responses",
    "media_type",
)

#: Where the body and the query parameters go in a preset's input; other keys are path values.
BODY_KEY = "body"
QUERY_KEY = "query"

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# What a template's literal text may hold: RFC 3986 path characters without "%" (a template
# spells its text plainly), "@" (userinfo tricks) and "?"/"#" (queries go under ``query``).
_LITERAL = re.compile(r"^[A-Za-z0-9._~!$&'()*+,;=:/-]*$")


class PresetDefinitionError(ValueError):
    """A preset definition is unusable; the plugin manager turns this into a warning naming the plugin."""


def parse_path_template(path: object) -> tuple[str, ...]:
    """Check a path template and return its placeholder names, in order.

    >>> parse_path_template("/projects/{projectId}/warehouse-sources/{sourceId}")
    ('projectId', 'sourceId')
    """
    if not isinstance(path, str) or not path:
        raise PresetDefinitionError(f"path must be a non-empty string, got {show(path)}")
    if not path.startswith("/"):
        raise PresetDefinitionError(
            f"path must be relative to the API's base URL and start with '/', got {show(path)}"
        )
    if "//" in path:
        raise PresetDefinitionError(f"path must not contain '//' (another host), got {show(path)}")
    names: list[str] = []
    for name in _PLACEHOLDER.findall(path):
        if not _PARAM_NAME.match(name) or name in (BODY_KEY, QUERY_KEY):
            raise PresetDefinitionError(
                f"path placeholder {{{name}}} is not a valid parameter name"
            )
        if name in names:
            raise PresetDefinitionError(f"path placeholder {{{name}}} appears twice")
        names.append(name)
    literal = _PLACEHOLDER.sub("x", path)
    if not _LITERAL.match(literal):
        raise PresetDefinitionError(
            f"path {show(path)} may hold only plain path characters and {{name}} placeholders "
            "(no '%', '@', '?', '#', '\\', braces or spaces)"
        )
    for segment in path.split("/"):
        if segment in (".", ".."):
            raise PresetDefinitionError(
                f"path must not contain '.' or '..' segments, got {show(path)}"
            )
    return tuple(names)


#: The path parameter filled from the runner's project id (MP_PROJECT_ID) when not given.
PROJECT_ID_KEY = "projectId"
_PROJECT_ID_HINT = {PROJECT_ID_KEY: " (give projectId or set MP_PROJECT_ID)"}


def _never(instance: object) -> bool:
    return False


@dataclass(frozen=True, eq=False)
class Preset:
    """A named, typed action. Build one from a plugin's definition with
    :func:`~.definitions.preset_from_definition`.

    ``responses`` maps an HTTP status (``"200"``) to the JSON Schema of its body, for
    :meth:`check_response`. ``plugin`` names the plugin that offered the preset.
    """

    name: str
    api: str
    method: str
    path: str
    summary: str = ""
    input_schema: Mapping[str, Any] = field(default_factory=dict)
    example: Optional[Mapping[str, Any]] = None
    description: str = ""
    responses: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    plugin: str = "builtin"
    #: The body's media type as the endpoint documents it (for docs and ``presets show``).
    media_type: str = ""

    @functools.cached_property
    def path_params(self) -> tuple[str, ...]:
        return parse_path_template(self.path)

    # -- what the commands print ----------------------------------------------------------------

    def summary_row(self) -> dict[str, Any]:
        """``presets list --json``: one row per preset."""
        return {
            "name": self.name,
            "api": self.api,
            "method": self.method,
            "path": self.path,
            "summary": self.summary,
            "plugin": self.plugin,
        }

    def describe(self) -> dict[str, Any]:
        """``presets show``: what a low-code platform needs to render a form for the step."""
        return {
            **self.summary_row(),
            "media_type": self.media_type or None,
            "input_schema": copy.deepcopy(dict(self.input_schema)),
            "example": copy.deepcopy(dict(self.example)) if self.example is not None else None,
        }

    def to_definition(self) -> dict[str, Any]:
        """The plain-dict definition this preset would be rebuilt from (``plugin`` aside)."""
        return {name: getattr(self, name) for name in DEFINITION_FIELDS}

    # -- input ----------------------------------------------------------------------------------

    @functools.cached_property
    def _validator(self) -> Validator:
        return compile_schema(self.input_schema)

    @functools.cached_property
    def _valid_fast(self) -> Callable[[Any], bool]:
        # A plain-Python "valid" for the common JSON Schema subset (fastschema.py): a valid
        # input costs a few microseconds instead of jsonschema's eighty; anything else goes to
        # jsonschema, which decides and explains.
        from .quickcheck import compile_check

        return compile_check(self.input_schema) or _never

    def validate(
        self, preset_input: object, *, project_id: object = None, field_prefix: str = ""
    ) -> dict[str, Any]:
        """Check ``preset_input`` and return it completed (``projectId`` from ``project_id``).

        Raises :class:`PresetInputError` naming the JSON path (``body.type``) and what was expected.
        """
        data = self._completed(preset_input, project_id, field_prefix)
        if self._valid_fast(data):
            return data
        found = best_error(self._validator, data, required_hints=_PROJECT_ID_HINT)
        if found is not None:
            path, message = found
            p = field_prefix
            raise PresetInputError(
                message, field=f"{p}{path}" if path else p.rstrip(".") or "input"
            )
        return data

    def _completed(
        self, preset_input: object, project_id: object, field_prefix: str
    ) -> dict[str, Any]:
        """``preset_input`` as a new dict, with ``projectId`` from ``project_id`` when not given."""
        if preset_input is None:
            preset_input = {}
        if not isinstance(preset_input, Mapping):
            raise PresetInputError(
                f"expected a JSON object of inputs, got {json_type(preset_input)}",
                field=field_prefix.rstrip(".") or "input",
            )
        data = dict(preset_input)
        if PROJECT_ID_KEY not in data and project_id is not None and self._takes_project_id():
            text = str(project_id)
            data[PROJECT_ID_KEY] = int(text) if text.isdigit() else text
        return data

    def _takes_project_id(self) -> bool:
        props = self.input_schema.get("properties")
        return PROJECT_ID_KEY in self.path_params or (
            isinstance(props, Mapping) and PROJECT_ID_KEY in props
        )

    def render_path(self, values: Mapping[str, Any], *, field_prefix: str = "") -> str:
        """Fill the template; each value becomes exactly one percent-encoded path segment."""
        path = self.path
        for name in self.path_params:
            where = f"{field_prefix}{name}"
            if name not in values or values[name] is None:
                raise PresetInputError(f"is required{_PROJECT_ID_HINT.get(name, '')}", field=where)
            value = values[name]
            if isinstance(value, bool) or not isinstance(value, (str, int)):
                raise PresetInputError(
                    f"expected a string or an integer, got {json_type(value)}", field=where
                )
            text = str(value)
            if text in ("", ".", ".."):
                shown = "empty" if not text else f"{text!r}"
                raise PresetInputError(f"must not be {shown}: it is one path segment", field=where)
            path = path.replace("{" + name + "}", quote(text, safe=""), 1)
        return path

    def to_inputs(
        self,
        preset_input: object,
        *,
        project_id: object = None,
        field_prefix: str = "",
        check: bool = True,
    ) -> dict[str, Any]:
        """Check ``preset_input`` and return the card inputs for ``Runner.prepare``/``Runner.run``.

        ``project_id`` (the runner's ``credentials.project_id``, i.e. MP_PROJECT_ID) fills
        ``projectId`` when the input does not give it. Nothing is sent. ``check=False`` skips the
        input schema (a manifest checks a step whose values are stand-ins for earlier results);
        the rendering and its own checks (path values, unknown keys) are the same.
        """
        if check:
            data = self.validate(preset_input, project_id=project_id, field_prefix=field_prefix)
        else:
            data = self._completed(preset_input, project_id, field_prefix)
        params = self.path_params
        accepted = (*params, BODY_KEY, QUERY_KEY)
        for key in data:
            if key not in accepted:
                # A schema may allow more keys than the path uses; they would go nowhere.
                raise PresetInputError(
                    f"is not an input of {self.name} (accepted: {', '.join(accepted)})",
                    field=f"{field_prefix}{key}",
                )
        inputs: dict[str, Any] = {
            "method": self.method,
            "api": self.api,
            "relative_url": self.render_path(data, field_prefix=field_prefix),
            "query": data.get(QUERY_KEY),
        }
        if data.get(BODY_KEY) is not None:
            inputs["body"] = data[BODY_KEY]
            if self.media_type and self.media_type != "application/json":
                # The operation's own media type, where its endpoint takes several (the /track
                # identity forms): the card's way to pick one is its Content-Type header.
                inputs["headers"] = {"Content-Type": self.media_type}
        return inputs

    # -- response -------------------------------------------------------------------------------

    def response_schema(self, status_code: int) -> Optional[Mapping[str, Any]]:
        """The declared body schema for ``status_code`` (exact, then ``2XX``-style, then default)."""
        for key in (str(status_code), f"{status_code // 100}XX", "default"):
            schema = self.responses.get(key)
            if schema is not None:
                return schema
        return None

    def check_response(self, status_code: int, body: Any) -> list[str]:
        """Problems of ``body`` against the schema declared for ``status_code``; ``[]`` if it matches.

        A status with no declared schema has nothing to check. This never raises for a mismatch:
        the answer is still the answer.
        """
        schema = self.response_schema(status_code)
        if schema is None:
            return []
        if body is None:
            return [f"{status_code}: expected a JSON body, got none"]
        validator = self._response_validators.get(str(status_code))
        if validator is None:
            validator = compile_schema(schema)
            self._response_validators[str(status_code)] = validator
        return all_errors(validator, body, root="body")

    @functools.cached_property
    def _response_validators(self) -> dict[str, Validator]:
        return {}

    def warn_response(self, result: Result) -> list[str]:
        """:meth:`check_response` for a :class:`Result`, as one :class:`ResponseSchemaWarning`."""
        if result.body_file is not None:
            return []  # streamed to a file: not held in memory, not checked
        problems = self.check_response(result.status_code, result.body)
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            warnings.warn(
                f"the {result.status_code} response of {self.name} does not match its schema: "
                f"{problems[0]}{more}",
                ResponseSchemaWarning,
                stacklevel=2,
            )
        return problems

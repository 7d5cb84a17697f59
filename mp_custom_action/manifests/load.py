"""Manifests: a JSON list of steps (presets or raw actions), checked whole, then run in order.

:func:`load_manifest` (here) does every check that needs no connection settings: JSON Schema,
unknown keys, credential-looking keys, duplicate names, references. ``check_manifest`` (in
:mod:`.run`) does the rest with the Runner (presets, card inputs, credentials) and prepares every
step that holds no reference to an earlier result. Only then does ``run_manifest`` send anything,
so a manifest that fails a check sends nothing.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Union

from .._resources import data_folder
from .._text import shorten
from ..core.apis import normalize_region
from ..errors import ManifestError
from ..settings import MAX_PARALLEL
from .masking import credential_like, is_secret_ref
from .references import Ref, find_refs, substitute

if TYPE_CHECKING:
    from ..core.request import OutgoingRequest

__all__ = [
    "Manifest",
    "ManifestRun",
    "Step",
    "env_value",
    "load_manifest",
    "manifest_schema",
]

SCHEMA_FILE = "manifest.schema.json"
_WHERE_CREDENTIALS = (
    "a manifest holds no credentials: set them in the environment (MP_USERNAME, MP_SECRET, "
    "MP_PROJECT_ID, MP_API_SECRET, MP_TOKEN) or a profile (docs/configuration.md), or write "
    "the value as ${env.VAR}"
)
_ENV_REF = re.compile(r"^\$\{env\.[A-Za-z_][A-Za-z0-9_]*\}$")


@functools.lru_cache(maxsize=1)
def manifest_schema() -> dict[str, Any]:
    """The manifest JSON Schema, from the installed package or, in a checkout, ``manifests/``."""
    text = (data_folder("manifests") / SCHEMA_FILE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@functools.lru_cache(maxsize=1)
def _validator() -> Any:
    # Compiled once: jsonschema's validate() re-checks the schema itself on every call.
    from jsonschema import Draft202012Validator

    return Draft202012Validator(manifest_schema())


@dataclass
class Step:
    """One step, checked. ``request`` is prepared ahead when the step needs no earlier result."""

    index: int
    name: str
    preset: Optional[str]
    inputs: Any
    expect: tuple[Union[int, str], ...]
    continue_on_error: bool = False
    region: Optional[str] = None
    auth: Optional[str] = None
    output: Optional[str] = None
    #: Every reference in the inputs, with the JSON path of the string holding it.
    refs: tuple[tuple[str, Ref], ...] = field(default=(), repr=False)
    step_refs: bool = False
    #: The inputs with ${env...} and $${ resolved, for a step without step references. Like
    #: ``sensitive`` and ``request``, it may hold secrets read from the environment: no repr.
    resolved: Any = field(default=None, repr=False)
    #: Values read from ${env...} that may be secret (see :func:`is_secret_ref`): masked in
    #: --dry-run output and in error messages.
    sensitive: tuple[str, ...] = field(default=(), repr=False)
    request: Optional[OutgoingRequest] = field(default=None, repr=False)

    @property
    def where(self) -> str:
        return f"steps[{self.index}]"

    @property
    def inputs_field(self) -> str:
        return f"{self.where}.{'input' if self.preset is not None else 'call'}"

    def expects(self, status: int) -> bool:
        return any(
            status == e if isinstance(e, int) else str(status)[0] == e[0] for e in self.expect
        )


@dataclass
class Manifest:
    """A loaded manifest; ``env`` is the environment its ``${env...}`` references read."""

    steps: list[Step]
    region: Optional[str] = None
    profile: Optional[str] = None
    source: str = "manifest"
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    #: How many independent steps may run at once (1: in order); ``--parallel`` overrides it.
    parallel: int = 1


@dataclass
class ManifestRun:
    """What a run did: ``ok``, one entry per step, and the exit status of the first failure."""

    ok: bool
    steps: list[dict[str, Any]]
    exit_status: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "steps": self.steps}


# -- loading and the checks that need no connection ---------------------------------------------


def load_manifest(
    source: Union[str, os.PathLike[str], Mapping[str, Any]],
    *,
    env: Optional[Mapping[str, str]] = None,
) -> Manifest:
    """Read a manifest (a path or already-parsed JSON) and check everything but the requests."""
    environ: Mapping[str, str] = os.environ if env is None else env
    if isinstance(source, Mapping):
        data: Any = source
        name = "manifest"
        _check_plain_json(data)
    elif not isinstance(source, (str, os.PathLike)):
        raise ManifestError(f"expected a file path or a JSON object, got {type(source).__name__}")
    else:
        from ..core.inputs import parse_json_text

        name = os.fspath(source)
        try:
            text = Path(name).read_text(encoding="utf-8")
        except OSError as exc:
            raise ManifestError(f"cannot read {shorten(name, 200)}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise ManifestError(f"{shorten(name, 200)} is not UTF-8 text") from None
        data = parse_json_text(text, field=name)
    if not isinstance(data, Mapping):
        raise ManifestError(f"expected a JSON object, got {type(data).__name__}")
    _check_credential_keys(data, "")
    _check_schema(data)
    region = data.get("region")
    if region is not None:
        normalize_region(region, field="region")
    steps = [_step(i, raw, environ) for i, raw in enumerate(data["steps"])]
    _check_names_and_refs(steps)
    return Manifest(
        steps,
        region=region,
        profile=data.get("profile"),
        source=name,
        env=environ,
        parallel=int(data.get("parallel", 1)),
    )


def _check_plain_json(data: Mapping[str, Any]) -> None:
    # A manifest given as a Python object may hold what JSON cannot (a set, NaN, a non-string
    # key); the schema check and its messages assume JSON, so such a value is refused first.
    from ..core.inputs import check_json_value
    from ..errors import BodyError

    try:
        check_json_value(data, field="manifest")
    except BodyError as exc:
        field = (exc.field or "").partition(".")[2] or None
        raise ManifestError(exc.detail, field=field) from None


def _check_credential_keys(value: Any, path: str) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if credential_like(str(key)) and not (isinstance(item, str) and _ENV_REF.match(item)):
                raise ManifestError(f"looks like a credential; {_WHERE_CREDENTIALS}", field=here)
            _check_credential_keys(item, here)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_credential_keys(item, f"{path}[{i}]")


@functools.lru_cache(maxsize=1)
def _valid_fast() -> Any:
    # Plain-Python "valid" for the manifest schema (fastschema.py); jsonschema explains the rest.
    from ..presets.quickcheck import compile_check

    return compile_check(manifest_schema()) or (lambda data: False)


def _check_schema(data: Mapping[str, Any]) -> None:
    if _valid_fast()(data):
        return
    from jsonschema.exceptions import best_match

    error = best_match(_validator().iter_errors(data))
    if error is None:
        return
    where = error.json_path[2:] if error.json_path.startswith("$.") else ""
    instance, value = error.instance, error.validator_value
    if error.validator == "additionalProperties" and isinstance(instance, Mapping):
        allowed = error.schema.get("properties", {})
        extra = sorted(k for k in instance if k not in allowed)[0]
        raise ManifestError(
            f"unknown key; expected one of: {', '.join(allowed)}",
            field=f"{where}.{extra}" if where else extra,
        )
    if error.validator == "required" and isinstance(instance, Mapping):
        missing = next(p for p in value if p not in instance)
        raise ManifestError("is required", field=f"{where}.{missing}" if where else missing)
    if error.validator == "const":
        raise ManifestError(
            f"expected {json.dumps(value)}, got {json.dumps(instance)}", field=where
        )
    if error.validator == "type":
        raise ManifestError(f"expected {value}, got {json.dumps(instance)[:60]}", field=where)
    if where == "parallel" and error.validator in ("minimum", "maximum"):
        raise ManifestError(
            f"expected a whole number from 1 to {MAX_PARALLEL}, got {json.dumps(instance)}",
            field=where,
        )
    if error.validator == "not" and where.endswith(".output"):
        # The schema's only "not": a step's output stays under the current directory.
        raise ManifestError(
            f"expected a relative path without '..' segments (the file is written under the "
            f"current directory), got {json.dumps(instance)[:60]}",
            field=where,
        )
    raise ManifestError(error.message, field=where or None)


def _step(index: int, raw: Mapping[str, Any], env: Mapping[str, str]) -> Step:
    where = f"steps[{index}]"
    if ("preset" in raw) == ("call" in raw):
        raise ManifestError(
            "a step is a preset (preset and input) or a raw action (call): give exactly one",
            field=where,
        )
    if "input" in raw and "call" in raw:
        raise ManifestError(
            "input belongs to a preset step; a call step has call", field=f"{where}.input"
        )
    expect = raw.get("expect", "2xx")
    step = Step(
        index=index,
        name=raw["name"],
        preset=raw.get("preset"),
        inputs=raw.get("input", {}) if "preset" in raw else raw["call"],
        expect=tuple(expect) if isinstance(expect, list) else (expect,),
        continue_on_error=raw.get("continue_on_error", False),
        region=raw.get("region"),
        auth=raw.get("auth"),
        output=raw.get("output"),
    )
    if step.region is not None:
        normalize_region(step.region, field=f"{where}.region")
    step.refs = tuple(find_refs(step.inputs, field=step.inputs_field))
    for at, ref in step.refs:
        if ref.kind == "env" and ref.name not in env:
            raise ManifestError(
                f"{ref.text}: the environment variable {ref.name} is not set", field=at
            )
    step.step_refs = any(ref.kind == "steps" for _, ref in step.refs)
    step.sensitive = tuple(
        dict.fromkeys(
            env[ref.name] for at, ref in step.refs if ref.kind == "env" and is_secret_ref(ref, at)
        )
    )
    if not step.step_refs:
        step.resolved = substitute(
            step.inputs, functools.partial(env_value, env), field=step.inputs_field
        )
    return step


def env_value(env: Mapping[str, str], ref: Ref, at: str) -> Any:
    """Resolve an ``${env...}`` reference."""
    if ref.kind != "env":  # pragma: no cover - only called for steps without step references
        raise ManifestError(f"{ref.text} cannot be read here", field=at)
    value = env.get(ref.name)
    if value is None:
        raise ManifestError(f"{ref.text}: the environment variable {ref.name} is not set", field=at)
    return value


def _check_names_and_refs(steps: list[Step]) -> None:
    seen: dict[str, Step] = {}
    for step in steps:
        if step.name in seen:
            raise ManifestError(
                f"duplicate step name {step.name!r} (also {seen[step.name].where})",
                field=f"{step.where}.name",
            )
        seen[step.name] = step
    names = [s.name for s in steps]
    for step in steps:
        if not step.step_refs:
            continue
        for at, ref in step.refs:
            if ref.kind != "steps":
                continue
            target = seen.get(ref.name)
            if target is None:
                earlier = ", ".join(names[: step.index]) or "none"
                raise ManifestError(
                    f"{ref.text}: unknown step {ref.name!r}; steps before this one: {earlier}",
                    field=at,
                )
            if target.index >= step.index:
                raise ManifestError(
                    f"{ref.text}: step {ref.name!r} runs "
                    f"{'later' if target.index > step.index else 'as this step'}; "
                    "a step can only read earlier steps' results",
                    field=at,
                )
            if target.output is not None and ref.path[0] == "body":
                raise ManifestError(
                    f"{ref.text}: step {ref.name!r} streams its body to {target.output}",
                    field=at,
                )

"""One manifest step's request, and its entry in the run's output.

A step that reads no earlier result is prepared once, ahead (``check_manifest``), and sent as
prepared. A step that reads earlier results is checked ahead with a stand-in for each reference
(:func:`prepare_with_standins`) and built again, from the results in hand, when its turn comes
(:func:`step_request`).
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Optional

from .._text import shorten
from ..core.urls import without_query
from ..errors import InputError, ManifestError, MpError, http_exit_status
from .load import Manifest, Step, env_value
from .masking import edit_error, mask
from .references import Ref, find_refs, parse, substitute, walk_result

if TYPE_CHECKING:
    from ..core.request import OutgoingRequest
    from ..core.results import Result
    from ..core.runner import Runner
    from ..presets.model import Preset

__all__ = [
    "Standins",
    "Unbuildable",
    "answered_entry",
    "check_output",
    "failed_entry",
    "find_preset",
    "prepare",
    "prepare_with_standins",
    "step_request",
]

#: Results of the steps that finished, by name (``None``: the step failed and has no result).
Results = Mapping[str, Optional[dict[str, Any]]]

# Card inputs that a stand-in cannot replace (method, API, region, auth): a raw step whose
# reference sits in one of these is checked when it runs.
_UNCHECKABLE = frozenset(
    {"method", "request type", "request_type", "api", "select api", "select_api", "region", "auth"}
)


class Unbuildable(Exception):
    """A raw step whose method, API, region or auth is a reference: it is built when it runs."""


def step_request(
    step: Step, manifest: Manifest, runner: Runner, results: Results, strict: Optional[bool]
) -> OutgoingRequest:
    """The step's request: prepared by ``check_manifest``, or built now from ``results``."""
    if step.request is not None:
        request = step.request
    else:
        resolve = functools.partial(_runtime_value, manifest.env, results)
        inputs = substitute(step.inputs, resolve, field=step.inputs_field)
        wholes = _checked_wholes(step, inputs)
        try:
            request = prepare(step, runner, inputs, strict)
        except InputError as exc:
            _name_whole_ref(exc, step, wholes)
            raise
    if step.sensitive:
        # The runner logs the URL's path; a secret read into it is masked there too.
        shown = mask(without_query(request.url), step.sensitive)
        request = dataclasses.replace(request, log_url=shown)
    return request


def _name_whole_ref(exc: InputError, step: Step, wholes: Mapping[str, str]) -> None:
    # A refusal of a field that was one reference says which reference gave the value.
    for name, text in wholes.items():
        at = f"{step.inputs_field}.{name}"
        if exc.field == at or (exc.field or "").startswith(at + "."):
            edit_error(exc, functools.partial(_prefix, exc.detail, f"{text}: {exc.detail}"))
            return


def _prefix(old: str, new: str, message: str) -> str:
    return message.replace(old, new, 1)


def failed_entry(step: Step, exc: MpError) -> tuple[dict[str, Any], int]:
    """The output entry of a step that raised, and its exit status."""
    return {"name": step.name, "error": mask(str(exc), step.sensitive)}, int(exc.exit_status)


def answered_entry(step: Step, result: Result) -> tuple[dict[str, Any], dict[str, Any], int]:
    """The output entry of a step that got an answer, its result, and its exit status (0: ok)."""
    data = result.to_dict()
    status = 0
    if not step.expects(result.status_code):
        status = int(http_exit_status(result.status_code))
    return {"name": step.name, **data}, data, status


def prepare(
    step: Step, runner: Runner, inputs: Any, strict: Optional[bool], *, check: bool = True
) -> OutgoingRequest:
    """The step's request; ``check=False`` skips a preset's input schema (stand-ins in it)."""
    if step.preset is not None:
        preset = find_preset(step, strict)
        card = preset.to_inputs(
            inputs,
            project_id=runner.credentials.project_id,
            field_prefix=f"{step.where}.input.",
            check=check,
        )
        prefix = f"{step.where}."
    else:
        card = dict(inputs)
        prefix = f"{step.inputs_field}."
    return runner.prepare(_with_step_settings(step, card), field_prefix=prefix)


def _with_step_settings(step: Step, card: dict[str, Any]) -> dict[str, Any]:
    # The step's region and auth travel with its card inputs; a call's own keys win over them.
    for key, value in (("region", step.region), ("auth", step.auth)):
        if value is not None and not any(str(k).strip().lower() == key for k in card):
            card[key] = value
    return card


class Standins:
    """Tokens that stand in for step references while a step is checked or dry-run.

    A token (``__mp_ref_0__``) survives URL quoting and JSON, so whatever the request or an error
    shows of it can be swapped back for the reference's text (:meth:`untoken`): a refusal then
    names the reference (``got '${steps.a.body.path}/x'``), never a stand-in value.
    """

    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}

    def __call__(self, ref: Ref) -> str:
        name = f"__mp_ref_{len(self.tokens)}__"
        self.tokens[name] = ref.text
        return name

    def untoken(self, value: Any) -> Any:
        """``value`` with each token swapped back for its reference."""
        if isinstance(value, str):
            for token, text in self.tokens.items():
                if token in value:
                    value = value.replace(token, text)
            return value
        if isinstance(value, Mapping):
            return {k: self.untoken(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.untoken(v) for v in value]
        return value


def prepare_with_standins(
    step: Step, runner: Runner, env: Mapping[str, str], standins: Standins
) -> tuple[OutgoingRequest, dict[str, str]]:
    """Build the request with a stand-in for each step reference (check and dry run).

    Returns the request, and the card fields (``body``, ``relative_url``, ``headers``, ``query``) whose
    whole value is one reference, with its text: such a field's type is only known when the
    step runs, so a neutral value of the field's type stands in for it (and the reference's
    value is checked against the type then, by :func:`step_request`).
    Raises :class:`Unbuildable` for a raw step whose method, API, region or auth is a reference.
    """
    wholes: dict[str, str] = {}
    inputs: dict[str, Any] = {}
    for key, value in step.inputs.items():
        refs = [r for _, r in find_refs(value, field=step.inputs_field) if r.kind == "steps"]
        lowered = str(key).strip().lower()
        if refs and step.preset is None and lowered in _UNCHECKABLE:
            raise Unbuildable
        typed = _whole_ref_field(step, key, value)
        if typed is not None:
            name, ref = typed
            wholes[name] = ref.text
            inputs[key] = _NEUTRAL[name]
            continue
        inputs[key] = value

    def resolve(ref: Ref, at: str) -> Any:
        if ref.kind == "env":
            return env_value(env, ref, at)
        return standins(ref)

    inputs = substitute(inputs, resolve, field=step.inputs_field)
    try:
        # A preset's schema would refuse a stand-in where it wants a number: it is unchecked.
        request = prepare(step, runner, inputs, strict=None, check=False)
    except MpError as exc:
        edit_error(exc, standins.untoken)
        raise
    return request, wholes


# Card fields that a step may give wholly as one reference, read as our names; a neutral value of
# the field's type stands in for the reference in the checks and the dry run.
_WHOLE_FIELDS = {
    "body": "body",
    "relative_url": "relative_url",
    "relative url": "relative_url",
    "relativeurl": "relative_url",
    "url": "relative_url",
    "headers": "headers",
    "query": "query",
}
_NEUTRAL: dict[str, Any] = {"body": [], "relative_url": "", "headers": {}, "query": {}}
_EXPECTED: dict[str, tuple[type, str]] = {
    "relative_url": (str, "a string"),
    "headers": (Mapping, "an object of name/values"),
    "query": (Mapping, "an object of key/values"),
}


def _whole_ref_field(step: Step, key: object, value: object) -> Optional[tuple[str, Ref]]:
    # The field's name and the reference, when a raw step's field is exactly one step reference.
    # A preset's input keys are its own: only a ``body`` there stands in as it always has.
    name = _WHOLE_FIELDS.get(str(key).strip().lower())
    if name is None or not isinstance(value, str) or "${" not in value:
        return None
    if step.preset is not None and name != "body":
        return None
    template = parse(value, field=f"{step.inputs_field}.{key}")
    ref = template.whole if template is not None else None
    return (name, ref) if ref is not None and ref.kind == "steps" else None


def _checked_wholes(step: Step, resolved: Any) -> dict[str, str]:
    """Check each whole-reference field's value against its field's type; return the fields
    (our names) mapped to their reference's text."""
    wholes: dict[str, str] = {}
    for key, value in step.inputs.items():
        typed = _whole_ref_field(step, key, value)
        if typed is None:
            continue
        name, ref = typed
        wholes[name] = ref.text
        expected = _EXPECTED.get(name)
        got = resolved.get(key) if isinstance(resolved, Mapping) else None
        if expected is not None and not isinstance(got, expected[0]):
            raise ManifestError(
                f"{ref.text} is {_kind(got)}; expected {expected[1]}",
                field=f"{step.inputs_field}.{key}",
            )
    return wholes


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"


def _runtime_value(env: Mapping[str, str], results: Results, ref: Ref, at: str) -> Any:
    if ref.kind == "env":
        return env_value(env, ref, at)
    result = results.get(ref.name)
    if result is None:
        raise ManifestError(f"{ref.text}: step {ref.name!r} failed and has no result", field=at)
    return walk_result(result, ref, field=at)


def check_output(step: Step) -> None:
    """Refuse a step's ``output`` that no file can be written at, before the first step is sent.

    The schema has already kept it relative and without ``..``; here the file system is asked,
    by the same check as ``--output`` (:func:`~.core.results.check_output_path`): a NUL byte, a
    folder (``.``, ``out/``), a missing or read-only folder, a name the file system cannot hold.
    """
    from ..core.results import check_output_path

    if step.output is None:
        return
    where = f"{step.where}.output"
    if step.output.endswith(("/", os.sep)):
        raise ManifestError(
            f"{shorten(step.output, 80)!r} is a directory; name a file", field=where
        )
    try:
        check_output_path(step.output)
    except InputError as exc:
        raise ManifestError(exc.detail, field=where) from None


def find_preset(step: Step, strict: Optional[bool]) -> Preset:
    """The preset a preset step names, from the plugins' registry."""
    from ..presets.plugins import preset_registry

    return preset_registry(strict=strict).get(step.preset, field=f"{step.where}.preset")

"""One manifest step's request, and its entry in the run's output.

A step that reads no earlier result is prepared once, ahead (``check_manifest``), and sent as
prepared. A step that reads earlier results is checked ahead with a stand-in for each reference
(:func:`prepare_with_standins`) and built again, from the results in hand, when its turn comes
(:func:`step_request`).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable, Optional

from ..core.urls import without_query
from ..errors import ManifestError, MpError, http_exit_status
from .load import Manifest, Step, env_value
from .masking import mask
from .references import Ref, find_refs, substitute, walk_result

if TYPE_CHECKING:
    from ..core.request import OutgoingRequest
    from ..core.results import Result
    from ..core.runner import Runner
    from ..presets.model import Preset

__all__ = [
    "Unbuildable",
    "answered_entry",
    "failed_entry",
    "find_preset",
    "prepare",
    "prepare_with_standins",
    "step_request",
    "untoken",
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
        request = prepare(step, runner, inputs, strict)
    if step.sensitive:
        # The runner logs the URL's path; a secret read into it is masked there too.
        shown = mask(without_query(request.url), step.sensitive)
        request = dataclasses.replace(request, log_url=shown)
    return request


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


def prepare_with_standins(
    step: Step,
    runner: Runner,
    env: Mapping[str, str],
    standin: Callable[[Ref], Any],
) -> tuple[OutgoingRequest, Optional[str]]:
    """Build the request with ``standin(ref)`` for each step reference (check and dry run).

    Returns the request, and the reference text when the whole body is one.
    Raises :class:`Unbuildable` for a raw step whose method, API, region or auth is a reference.
    """
    body_ref: Optional[str] = None
    inputs: dict[str, Any] = {}
    for key, value in step.inputs.items():
        refs = [r for _, r in find_refs(value, field=step.inputs_field) if r.kind == "steps"]
        lowered = str(key).strip().lower()
        if refs and step.preset is None and lowered in _UNCHECKABLE:
            raise Unbuildable
        if refs and lowered == "body" and isinstance(value, str):
            body_ref = refs[0].text  # the whole body is a reference: an empty array stands in
            inputs[key] = []
            continue
        inputs[key] = value

    def resolve(ref: Ref, at: str) -> Any:
        if ref.kind == "env":
            return env_value(env, ref, at)
        return standin(ref)

    inputs = substitute(inputs, resolve, field=step.inputs_field)
    # A preset's schema would refuse a stand-in where it wants a number: its input is unchecked.
    request = prepare(step, runner, inputs, strict=None, check=False)
    return request, body_ref


def _runtime_value(env: Mapping[str, str], results: Results, ref: Ref, at: str) -> Any:
    if ref.kind == "env":
        return env_value(env, ref, at)
    result = results.get(ref.name)
    if result is None:
        raise ManifestError(f"{ref.text}: step {ref.name!r} failed and has no result", field=at)
    return walk_result(result, ref, field=at)


def untoken(value: Any, tokens: Mapping[str, str]) -> Any:
    """``value`` with each dry-run token (a stand-in's text) swapped back for its reference."""
    if isinstance(value, str):
        for token, text in tokens.items():
            if token in value:
                value = value.replace(token, text)
        return value
    if isinstance(value, Mapping):
        return {k: untoken(v, tokens) for k, v in value.items()}
    if isinstance(value, list):
        return [untoken(v, tokens) for v in value]
    return value


def find_preset(step: Step, strict: Optional[bool]) -> Preset:
    """The preset a preset step names, from the plugins' registry."""
    from ..presets.plugins import preset_registry

    return preset_registry(strict=strict).get(step.preset, field=f"{step.where}.preset")

"""Running a loaded manifest with one Runner: the checks that need it, the run, and dry runs.

Steps that read no earlier result are prepared once, by :func:`check_manifest`, and sent as
prepared: a manifest step costs what a card call costs. Steps that read earlier results are
checked with a stand-in for each reference, and built again when their turn comes.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable, Optional
from urllib.parse import quote, quote_plus

from .._text import one_line
from ..core.urls import PATH_SAFE, without_query
from ..errors import InputError, ManifestError, MpError, http_exit_status
from ..settings import MAX_PARALLEL
from .load import Manifest, ManifestRun, Step, env_value
from .references import Ref, find_refs, substitute, walk_result

if TYPE_CHECKING:
    from ..core.request import OutgoingRequest
    from ..core.results import Result
    from ..core.runner import Runner
    from ..presets.model import Preset

__all__ = ["check_manifest", "dry_run", "run_manifest"]

# Card inputs that a stand-in cannot replace (method, API, region, auth): a raw step whose
# reference sits in one of these is checked when it runs.
_UNCHECKABLE = frozenset(
    {"method", "request type", "request_type", "api", "select api", "select_api", "region", "auth"}
)


def check_manifest(
    manifest: Manifest,
    runner: Runner,
    *,
    region: Optional[str] = None,
    strict_plugins: Optional[bool] = None,
) -> None:
    """Check every step's preset and card inputs and prepare the steps that need no earlier result.

    ``region`` (the --region flag) overrides the manifest's and the steps' own regions.
    Raises the first problem (an :class:`~.errors.InputError` naming ``steps[i]...``, or a
    credential error); sends nothing. A secret read from ``${env...}`` shows as ``***`` in it.
    """
    for step in manifest.steps:
        if region is not None:
            step.region = region
        elif step.region is None:
            step.region = manifest.region
        if step.preset is not None:
            _find_preset(step, strict_plugins)
        try:
            if not step.step_refs:
                step.request = _prepare(step, runner, step.resolved, strict_plugins)
            else:
                # Stand-ins check the rest (path, body, credentials) before anything is sent.
                _prepare_with_standins(step, runner, manifest.env, lambda ref: "0")
        except _Unbuildable:
            pass  # checked when it runs, with the earlier results in hand
        except MpError as exc:
            # An error quotes the value it refused, which may be a secret read from ${env...}.
            _mask_error(exc, step.sensitive)
            raise


def run_manifest(
    manifest: Manifest,
    runner: Runner,
    *,
    strict_plugins: Optional[bool] = None,
    parallel: Optional[int] = None,
) -> ManifestRun:
    """Run the steps in order; a failing step stops the run unless it has ``continue_on_error``.

    Call :func:`check_manifest` first: it fails before anything is sent and prepares the steps.
    A status outside ``expect`` fails with exit status 5 for 5xx and 4 for any other status.
    ``parallel`` (default: the manifest's, else 1) lets up to that many independent steps run at
    once (see :mod:`.manifest_parallel`); 1 is the strict order below.
    """
    at_once = manifest.parallel if parallel is None else check_parallel(parallel)
    if at_once > 1:
        from .parallel import run_parallel

        return run_parallel(manifest, runner, at_once, strict_plugins=strict_plugins)
    results: dict[str, Optional[dict[str, Any]]] = {}
    out: list[dict[str, Any]] = []
    failure = 0
    for step in manifest.steps:
        if failure:
            out.append({"name": step.name, "skipped": True})
            continue
        try:
            request = step_request(step, manifest, runner, results, strict_plugins)
            result = runner.send(request, output=step.output)
        except MpError as exc:
            results[step.name] = None
            entry, status = failed_entry(step, exc)
        else:
            entry, results[step.name], status = answered_entry(step, result)
        out.append(entry)
        if status and not step.continue_on_error:
            failure = status
    return ManifestRun(ok=not failure, steps=out, exit_status=failure)


#: The most steps a manifest may run at once (``parallel``, ``--parallel``); the runner's
#: connection pool holds as many connections.


def check_parallel(value: object, *, field: str = "--parallel") -> int:
    """``value`` as a number of steps at once, 1 to :data:`MAX_PARALLEL`."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PARALLEL:
        raise InputError(
            f"expected a whole number from 1 to {MAX_PARALLEL}, got {value!r}", field=field
        )
    return value


def step_request(
    step: Step,
    manifest: Manifest,
    runner: Runner,
    results: Mapping[str, Optional[dict[str, Any]]],
    strict: Optional[bool],
) -> OutgoingRequest:
    """The step's request: prepared by :func:`check_manifest`, or built now from ``results``."""
    if step.request is not None:
        request = step.request
    else:
        resolve = functools.partial(_runtime_value, manifest.env, results)
        inputs = substitute(step.inputs, resolve, field=step.inputs_field)
        request = _prepare(step, runner, inputs, strict)
    if step.sensitive:
        # The runner logs the URL's path; a secret read into it is masked there too.
        shown = _mask(without_query(request.url), step.sensitive)
        request = dataclasses.replace(request, log_url=shown)
    return request


def failed_entry(step: Step, exc: MpError) -> tuple[dict[str, Any], int]:
    """The output entry of a step that raised, and its exit status."""
    return {"name": step.name, "error": _mask(str(exc), step.sensitive)}, int(exc.exit_status)


def answered_entry(step: Step, result: Result) -> tuple[dict[str, Any], dict[str, Any], int]:
    """The output entry of a step that got an answer, its result, and its exit status (0: ok)."""
    data = result.to_dict()
    status = 0
    if not step.expects(result.status_code):
        status = int(http_exit_status(result.status_code))
    return {"name": step.name, **data}, data, status


def dry_run(manifest: Manifest, runner: Runner) -> dict[str, Any]:
    """Each step's request as ``call --dry-run`` shows it; earlier results appear as references.

    Call :func:`check_manifest` first. Values read from ``${env...}`` that may be secret (a
    credential variable, a credential-like variable name or key) are shown as ``***``.
    """
    steps = []
    for step in manifest.steps:
        if step.request is not None:
            shown = _mask(step.request.describe(), step.sensitive)
        else:
            tokens: dict[str, str] = {}

            def token(ref: Ref, tokens: dict[str, str] = tokens) -> str:
                # A token survives URL quoting and JSON, and is then swapped for the reference.
                name = f"__mp_ref_{len(tokens)}__"
                tokens[name] = ref.text
                return name

            try:
                request, body_ref = _prepare_with_standins(step, runner, manifest.env, token)
            except _Unbuildable:
                steps.append({"name": step.name, "call": step.inputs})
                continue
            shown = _mask(_untoken(request.describe(), tokens), step.sensitive)
            if body_ref is not None:
                shown["body"] = body_ref
        steps.append({"name": step.name, **shown})
    return {"dry_run": True, "steps": steps}


# -- building one step's request ---------------------------------------------------------------


def _prepare(
    step: Step, runner: Runner, inputs: Any, strict: Optional[bool], *, check: bool = True
) -> OutgoingRequest:
    """The step's request; ``check=False`` skips a preset's input schema (stand-ins in it)."""
    if step.preset is not None:
        preset = _find_preset(step, strict)
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


def _prepare_with_standins(
    step: Step,
    runner: Runner,
    env: Mapping[str, str],
    standin: Callable[[Ref], Any],
) -> tuple[OutgoingRequest, Optional[str]]:
    """Build the request with ``standin(ref)`` for each step reference (check and dry run).

    Returns the request, and the reference text when the whole body is one.
    Raises :class:`_Unbuildable` for a raw step whose method, API, region or auth is a reference.
    """
    body_ref: Optional[str] = None
    inputs: dict[str, Any] = {}
    for key, value in step.inputs.items():
        refs = [r for _, r in find_refs(value, field=step.inputs_field) if r.kind == "steps"]
        lowered = str(key).strip().lower()
        if refs and step.preset is None and lowered in _UNCHECKABLE:
            raise _Unbuildable
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
    request = _prepare(step, runner, inputs, strict=None, check=False)
    return request, body_ref


class _Unbuildable(Exception):
    """A raw step whose method, API, region or auth is a reference: it is built when it runs."""


def _runtime_value(
    env: Mapping[str, str], results: Mapping[str, Optional[dict[str, Any]]], ref: Ref, at: str
) -> Any:
    if ref.kind == "env":
        return env_value(env, ref, at)
    result = results.get(ref.name)
    if result is None:
        raise ManifestError(f"{ref.text}: step {ref.name!r} failed and has no result", field=at)
    return walk_result(result, ref, field=at)


def _untoken(value: Any, tokens: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        for token, text in tokens.items():
            if token in value:
                value = value.replace(token, text)
        return value
    if isinstance(value, Mapping):
        return {k: _untoken(v, tokens) for k, v in value.items()}
    if isinstance(value, list):
        return [_untoken(v, tokens) for v in value]
    return value


def _mask(value: Any, sensitive: tuple[str, ...]) -> Any:
    if not sensitive:
        return value
    if isinstance(value, str):
        for secret in sensitive:
            if len(secret) < _SHORTEST_MASKED_INSIDE:
                # A value as short as "5" would blank out every "5" of the output ("55",
                # "2025"): it is masked only where no letter or digit touches it.
                for form in _written_forms(secret):
                    value = re.sub(
                        rf"(?<![0-9A-Za-z]){re.escape(form)}(?![0-9A-Za-z])", "***", value
                    )
                continue
            for form in _written_forms(secret):
                value = value.replace(form, "***")
                if "..." in value:
                    # Errors quote long values cut short ("sk_live_0123...", _text.shorten):
                    # a cut form is as secret as the whole one.
                    for end in range(len(form) - 1, 3, -1):
                        value = value.replace(form[:end] + "...", "***...")
        return value
    if isinstance(value, Mapping):
        return {k: _mask(v, sensitive) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, sensitive) for v in value]
    return value


_SHORTEST_MASKED_INSIDE = 6


@functools.lru_cache(maxsize=64)
def _written_forms(secret: str) -> tuple[str, ...]:
    """``secret`` as it may appear: as is, percent-encoded in a path, a query or a form body,
    and with control characters escaped (as error messages write them); longest first."""
    if not secret:
        return ()
    forms = {
        secret,
        one_line(secret),
        quote(secret, safe=""),
        quote(secret, safe=PATH_SAFE),
        quote_plus(secret),
        # A "+" in a relative URL's query string reads as a space, and is sent as %20.
        quote(secret.replace("+", " "), safe=""),
        repr(secret)[1:-1],
    }
    return tuple(sorted(forms, key=len, reverse=True))


def _mask_error(exc: MpError, sensitive: tuple[str, ...]) -> None:
    """Mask ``sensitive`` values in ``exc``'s message, in place (it is raised on as it is)."""
    message = _mask(exc.message, sensitive)
    if message == exc.message:
        return
    exc.message = message
    exc.args = (message,)
    if isinstance(exc, InputError):
        exc.detail = _mask(exc.detail, sensitive)


# -- presets ------------------------------------------------------------------------------------


def _find_preset(step: Step, strict: Optional[bool]) -> Preset:
    from ..presets.plugins import preset_registry

    return preset_registry(strict=strict).get(step.preset, field=f"{step.where}.preset")

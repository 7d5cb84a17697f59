"""Running a loaded manifest with one Runner: the checks that need it, the run, and dry runs.

:func:`check_manifest` checks every step's preset, card inputs and credentials and prepares the
steps that read no earlier result, so that a manifest step costs what a card call costs. Only then
does :func:`run_manifest` send anything, in order, or with :mod:`.parallel` when asked to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from ..errors import InputError, MpError
from ..settings import MAX_PARALLEL
from .load import Manifest, ManifestRun
from .masking import mask, mask_error
from .parallel import run_parallel
from .progress import Progress
from .steps import (
    Standins,
    Unbuildable,
    answered_entry,
    check_output,
    failed_entry,
    find_preset,
    prepare,
    prepare_with_standins,
    step_request,
)

if TYPE_CHECKING:
    from ..core.runner import Runner

__all__ = ["check_manifest", "check_parallel", "dry_run", "run_manifest"]


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
            find_preset(step, strict_plugins)
        check_output(step)
        try:
            if not step.step_refs:
                step.request = prepare(step, runner, step.resolved, strict_plugins)
            else:
                # Stand-ins check the rest (path, body, credentials) before anything is sent.
                prepare_with_standins(step, runner, manifest.env, Standins())
        except Unbuildable:
            pass  # checked when it runs, with the earlier results in hand
        except MpError as exc:
            # An error quotes the value it refused, which may be a secret read from ${env...}.
            mask_error(exc, step.sensitive)
            raise


def run_manifest(
    manifest: Manifest,
    runner: Runner,
    *,
    strict_plugins: Optional[bool] = None,
    parallel: Optional[int] = None,
    progress: Optional[Progress] = None,
) -> ManifestRun:
    """Run the steps in order; a failing step stops the run unless it has ``continue_on_error``.

    Call :func:`check_manifest` first: it fails before anything is sent and prepares the steps.
    A status outside ``expect`` fails with exit status 5 for 5xx and 4 for any other status.
    ``parallel`` (default: the manifest's, else 1) lets up to that many independent steps run at
    once (see :mod:`.parallel`); 1 is the strict order below.

    ``progress`` hears of each step sent and done: if the run stops early (an exception, Ctrl-C),
    ``progress.stopped(reason)`` is the output of what was done (see :mod:`.progress`).
    """
    at_once = manifest.parallel if parallel is None else check_parallel(parallel)
    progress = Progress() if progress is None else progress
    progress.begin(manifest.steps)
    if at_once > 1:
        outcome = run_parallel(
            manifest, runner, at_once, strict_plugins=strict_plugins, progress=progress
        )
        return progress.finished(outcome)
    results: dict[str, Optional[dict[str, Any]]] = {}
    out: list[dict[str, Any]] = []
    failure = 0
    for step in manifest.steps:
        if failure:
            out.append({"name": step.name, "skipped": True})
            continue
        try:
            request = step_request(step, manifest, runner, results, strict_plugins)
            progress.sent(step, request)
            result = runner.send(request, output=step.output)
        except MpError as exc:
            results[step.name] = None
            entry, status = failed_entry(step, exc)
        else:
            entry, results[step.name], status = answered_entry(step, result)
        out.append(entry)
        progress.done(step, entry, status)
        if status and not step.continue_on_error:
            failure = status
    return progress.finished(ManifestRun(ok=not failure, steps=out, exit_status=failure))


def check_parallel(value: object, *, field: str = "--parallel") -> int:
    """``value`` as a number of steps at once, 1 to :data:`~.settings.MAX_PARALLEL`."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PARALLEL:
        raise InputError(
            f"expected a whole number from 1 to {MAX_PARALLEL}, got {value!r}", field=field
        )
    return value


def dry_run(manifest: Manifest, runner: Runner) -> dict[str, Any]:
    """Each step's request as ``call --dry-run`` shows it; earlier results appear as references.

    Call :func:`check_manifest` first. Values read from ``${env...}`` that may be secret (a
    credential variable, a credential-like variable name or key) are shown as ``***``.
    """
    steps = []
    for step in manifest.steps:
        if step.request is not None:
            shown = mask(step.request.describe(), step.sensitive)
        else:
            standins = Standins()
            try:
                request, wholes = prepare_with_standins(step, runner, manifest.env, standins)
            except Unbuildable:
                steps.append({"name": step.name, "call": step.inputs})
                continue
            shown = mask(standins.untoken(_show_wholes(request.describe(), wholes)), step.sensitive)
        steps.append({"name": step.name, **shown})
    return {"dry_run": True, "steps": steps}


def _show_wholes(shown: dict[str, Any], wholes: dict[str, str]) -> dict[str, Any]:
    # A field that is wholly a reference shows the reference: the body and the headers in their
    # place, a relative URL where it is appended (after the API's base path, before the query),
    # a query object after the URL's query.
    if "body" in wholes:
        shown["body"] = wholes["body"]
    if "headers" in wholes:
        shown["headers"] = wholes["headers"]
    if "relative_url" in wholes:
        base, mark, query = shown["url"].partition("?")
        shown["url"] = f"{base}{wholes['relative_url']}{mark}{query}"
    if "query" in wholes:
        shown["url"] += ("&" if "?" in shown["url"] else "?") + wholes["query"]
    return shown

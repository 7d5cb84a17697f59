"""Operators: one custom call, one preset, one manifest (bulk jobs are in :mod:`.bulk`).

Each checks its inputs and the connection's credentials before anything is sent: bad input fails
the task at once (no retry) with the library's one-line error, and nothing reaches Mixpanel.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Optional, Union

from ...core.urls import without_query
from .base import (
    MAX_XCOM_BODY_BYTES,
    MixpanelBaseOperator,
    fail_on_status,
    failure,
    set_pool,
    shrink_for_xcom,
)
from .pools import DEFAULT_POOL, narrowest, pool_for_api

__all__ = [
    "MixpanelCustomActionOperator",
    "MixpanelManifestOperator",
    "MixpanelPresetOperator",
]

#: The card's inputs, named as the library names them.
INPUT_NAMES = ("method", "api", "relative_url", "query", "headers", "body")


class _CallOperator(MixpanelBaseOperator):
    """What a single call returns to XCom: ``status_code``, ``headers`` and ``body``."""

    def __init__(
        self,
        *,
        check_status: bool = True,
        output_file: Optional[str] = None,
        max_xcom_bytes: int = MAX_XCOM_BODY_BYTES,
        large_body_dir: Optional[str] = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.check_status = check_status
        self.output_file = output_file
        self.max_xcom_bytes = max_xcom_bytes
        self.large_body_dir = large_body_dir

    def _send(self, inputs: Any, context: Any) -> dict[str, Any]:
        with failure(self.log):
            runner = self.hook.get_conn()
            request = runner.prepare(inputs)  # every check, before anything is sent
            self.log.info("Sending %s %s", request.method, without_query(request.shown_url))
            result = runner.send(request, output=self.output_file or None)
        self.log.info("Answered %s after %d attempt(s)", result.status_code, result.attempts)
        if self.check_status:
            fail_on_status(result, self.log)
        out = result.to_dict()
        return shrink_for_xcom(
            out, context, limit=self.max_xcom_bytes, directory=self.large_body_dir
        )


class MixpanelCustomActionOperator(_CallOperator):
    """Send one call with the card's inputs; XCom: ``{status_code, headers, body}``.

    ``check_status`` (default on) fails the task on a 4xx/5xx answer. ``output_file`` streams a 2xx
    body to that file (XCom: ``body_file``, ``body_bytes``). A body over ``max_xcom_bytes``
    (1 MiB) of JSON goes to a file under ``large_body_dir`` and XCom holds its path.
    """

    template_fields: Sequence[str] = (*INPUT_NAMES, "output_file")
    template_fields_renderers: ClassVar[dict[str, str]] = {
        "query": "json",
        "headers": "json",
        "body": "json",
    }

    def __init__(
        self,
        *,
        method: str = "GET",
        api: str,
        relative_url: str,
        query: Union[str, Mapping[str, Any], None] = None,
        headers: Union[str, Mapping[str, Any], None] = None,
        body: Any = None,
        **kwargs: Any,
    ) -> None:
        set_pool(kwargs, pool_for_api(api).name)
        super().__init__(**kwargs)
        self.method = method
        self.api = api
        self.relative_url = relative_url
        self.query = query
        self.headers = headers
        self.body = body

    @classmethod
    def default_pool(cls, kwargs: dict[str, Any]) -> str:
        return pool_for_api(kwargs.get("api")).name

    def execute(self, context: Any) -> dict[str, Any]:
        inputs = {name: getattr(self, name) for name in INPUT_NAMES}
        return self._send({k: v for k, v in inputs.items() if v is not None}, context)


def _preset_pool(name: object) -> str:
    if not isinstance(name, str) or "{{" in name:
        return DEFAULT_POOL.name
    try:
        from ...presets.plugins import preset_registry

        return pool_for_api(preset_registry().get(name).api).name
    except Exception:  # an unknown preset fails when the task runs, with its own message
        return DEFAULT_POOL.name


class MixpanelPresetOperator(_CallOperator):
    """Run a preset (``mp-custom-action presets list``) with its input; XCom as a custom call.

    ``input`` is checked against the preset's schema before anything is sent; ``projectId``
    defaults to the connection's project id. A top-level integer input that a template rendered
    as text (``"{{ ti.xcom_pull(...) }}"`` gives ``"12"``) is read as the integer. ``check_response`` logs a warning when the answer
    does not match the preset's response schema.
    """

    template_fields: Sequence[str] = ("preset", "input", "output_file")
    template_fields_renderers: ClassVar[dict[str, str]] = {"input": "json"}

    def __init__(
        self,
        *,
        preset: str,
        input: Any = None,
        check_response: bool = False,
        **kwargs: Any,
    ) -> None:
        set_pool(kwargs, _preset_pool(preset))
        super().__init__(**kwargs)
        self.preset = preset
        self.input = input
        self.check_response = check_response

    @classmethod
    def default_pool(cls, kwargs: dict[str, Any]) -> str:
        return _preset_pool(kwargs.get("preset"))

    def execute(self, context: Any) -> dict[str, Any]:
        from ...presets.plugins import preset_registry

        with failure(self.log):
            found = preset_registry().get(self.preset)
            runner = self.hook.get_conn()
            given = _integers(found.input_schema, self.input)
            inputs = found.to_inputs(given, project_id=runner.credentials.project_id)
        out = self._send(inputs, context)
        if self.check_response and "body_file" not in out:
            for problem in found.check_response(out["status_code"], out["body"]):
                self.log.warning("The answer does not match %s's schema: %s", found.name, problem)
        return out


def _integers(schema: Mapping[str, Any], given: Any) -> Any:
    """Top-level integer inputs that a template rendered as text (``"{{ ... }}"`` -> ``"12"``)."""
    if not isinstance(given, Mapping):
        return given
    props = schema.get("properties")
    props = props if isinstance(props, Mapping) else {}
    out = dict(given)
    for key, value in given.items():
        spec = props.get(key)
        wants_int = isinstance(spec, Mapping) and spec.get("type") == "integer"
        if wants_int and isinstance(value, str) and value.strip().isdigit():
            out[key] = int(value.strip())
    return out


def _manifest_apis(manifest: object) -> list[str]:
    """The APIs a manifest calls, when it can be read while the DAG is parsed."""
    if isinstance(manifest, (str, os.PathLike)):
        if "{{" in os.fspath(manifest) or not os.path.isfile(manifest):
            return []
        with open(manifest, encoding="utf-8") as handle:
            manifest = json.load(handle)
    steps = manifest.get("steps") if isinstance(manifest, Mapping) else None
    apis = []
    for step in steps if isinstance(steps, list) else []:
        if isinstance(step, Mapping) and isinstance(step.get("call"), Mapping):
            call = step["call"]
            apis.append(str(call.get("api", call.get("Select API", ""))))
        elif isinstance(step, Mapping) and isinstance(step.get("preset"), str):
            from ...presets.plugins import preset_registry

            apis.append(preset_registry().get(step["preset"]).api)
    return apis


def _manifest_pool(manifest: object) -> str:
    try:
        pool = narrowest(_manifest_apis(manifest))
    except Exception:  # a manifest that cannot be read fails when the task runs
        return DEFAULT_POOL.name
    return (pool or DEFAULT_POOL).name


class MixpanelManifestOperator(MixpanelBaseOperator):
    """Run a manifest (a file path or a dict, docs/manifests.md); XCom: ``{ok, steps}``.

    The whole manifest is checked (schema, presets, inputs, credentials) before its first step
    is sent. A failed step fails the task (``fail_on_error=False`` returns the outcome instead).
    The pool defaults to the narrowest pool of the APIs the manifest calls.
    """

    template_fields: Sequence[str] = ("manifest",)
    template_fields_renderers: ClassVar[dict[str, str]] = {"manifest": "json"}

    def __init__(
        self,
        *,
        manifest: Union[str, Mapping[str, Any]],
        parallel: Optional[int] = None,
        fail_on_error: bool = True,
        max_xcom_bytes: int = MAX_XCOM_BODY_BYTES,
        large_body_dir: Optional[str] = None,
        **kwargs: Any,
    ) -> None:
        set_pool(kwargs, _manifest_pool(manifest))
        super().__init__(**kwargs)
        self.manifest = manifest
        self.parallel = parallel
        self.fail_on_error = fail_on_error
        self.max_xcom_bytes = max_xcom_bytes
        self.large_body_dir = large_body_dir

    @classmethod
    def default_pool(cls, kwargs: dict[str, Any]) -> str:
        return _manifest_pool(kwargs.get("manifest"))

    def execute(self, context: Any) -> dict[str, Any]:
        from ...manifests.load import load_manifest
        from ...manifests.run import check_manifest, run_manifest

        with failure(self.log):
            manifest = load_manifest(self.manifest)
            runner = self.hook.get_conn()
            check_manifest(manifest, runner)
            outcome = run_manifest(manifest, runner, parallel=self.parallel)
        for step in outcome.steps:
            self.log.info("Step %s: %s", step.get("name"), _step_line(step))
        out = shrink_for_xcom(
            outcome.to_dict(),
            context,
            limit=self.max_xcom_bytes,
            directory=self.large_body_dir,
            key="steps",
        )
        if not outcome.ok and self.fail_on_error:
            from airflow.sdk.exceptions import AirflowFailException

            failed = _first_failure(outcome.steps)
            raise AirflowFailException(
                f"manifest failed at step {failed.get('name', '?')}: {_step_line(failed)}"
            )
        return out


def _first_failure(steps: list[dict[str, Any]]) -> dict[str, Any]:
    for index, step in enumerate(steps):
        if step.get("error"):
            return step
        if step.get("skipped") and index:
            return steps[index - 1]
    return steps[-1] if steps else {}


def _step_line(step: Mapping[str, Any]) -> str:
    if step.get("skipped"):
        return "skipped"
    if step.get("error"):
        return str(step["error"])
    return f"status {step.get('status_code')}"

"""What every operator of the provider shares: the hook, the default pool, errors, and XCom size."""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Optional

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from ...errors import MpError, TransportError
from .hook import MixpanelHook
from .pools import DEFAULT_POOL
from .provider import DEFAULT_CONN_ID

if TYPE_CHECKING:
    from ...core.results import Result

__all__ = [
    "MAX_XCOM_BODY_BYTES",
    "MixpanelBaseOperator",
    "failure",
    "set_pool",
    "shrink_for_xcom",
]

#: A body larger than this (as JSON, in bytes) goes to a file and XCom carries its path instead:
#: XComs live in the metadata database, which is not a place for megabytes.
MAX_XCOM_BODY_BYTES = 1024 * 1024


@contextlib.contextmanager
def failure(log: Any) -> Iterator[None]:
    """Our errors as task failures, in one line: bad input fails at once, a network error retries.

    The message is logged as it is (it never holds a credential) and the exception chain is cut,
    so the task log shows our one line rather than the library's internals.
    """
    try:
        yield
    except TransportError as exc:
        log.error("%s: %s", type(exc).__name__, exc)
        raise AirflowException(f"{type(exc).__name__}: {exc}") from None
    except MpError as exc:
        log.error("%s: %s", type(exc).__name__, exc)
        raise AirflowFailException(f"{type(exc).__name__}: {exc}") from None


def fail_on_status(result: Result, log: Any) -> None:
    """A 4xx or 5xx answer fails the task: 429 and 5xx may be retried by Airflow, others not."""
    if result.status_code < 400:
        return
    from ...core.urls import without_query

    body = result.body
    detail = (
        body.get("error") if isinstance(body, dict) else body if isinstance(body, str) else None
    )
    message = f"{result.method} {without_query(result.url)} answered {result.status_code}"
    if detail:
        message += f": {str(detail)[:300]}"
    log.error("%s", message)
    if result.status_code == 429 or result.status_code >= 500:
        raise AirflowException(message)
    raise AirflowFailException(message)


def _file_for(context: Any, directory: Optional[str]) -> Path:
    ti = context["ti"]
    parts = [ti.dag_id, ti.run_id, ti.task_id + (f".{ti.map_index}" if ti.map_index >= 0 else "")]
    safe = [re.sub(r"[^A-Za-z0-9._-]+", "_", str(p)) for p in parts]
    base = Path(directory or os.path.join(tempfile.gettempdir(), "mp-custom-action-airflow"))
    return base.joinpath(*safe[:-1], safe[-1] + ".json")


def shrink_for_xcom(
    out: dict[str, Any], context: Any, *, limit: int, directory: Optional[str], key: str = "body"
) -> dict[str, Any]:
    """``out`` as it is when ``out[key]`` is at most ``limit`` bytes of JSON, else written to a file.

    The file is ``DIR/dag_id/run_id/task_id[.map_index].json`` (``DIR``: ``large_body_dir``,
    default ``$TMPDIR/mp-custom-action-airflow``); XCom then holds ``body: null``,
    ``body_file`` and ``body_bytes``. On a cluster, point ``large_body_dir`` at a shared mount.
    """
    text = json.dumps(out.get(key), ensure_ascii=False)
    size = len(text.encode("utf-8"))
    if size <= limit:
        return out
    path = _file_for(context, directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return {**out, key: None, f"{key}_file": str(path), f"{key}_bytes": size}


def pool_given(kwargs: dict[str, Any]) -> bool:
    """Did the task, its ``default_args`` or its DAG's ``default_args`` choose a pool?"""
    if "pool" in kwargs or "pool" in (kwargs.get("default_args") or {}):
        return True
    try:  # .partial() sees the DAG's default_args only later: look at the DAG being defined
        from airflow.sdk.definitions._internal.contextmanager import DagContext
    except ImportError:
        return False
    dag = kwargs.get("dag") or DagContext.get_current()
    return dag is not None and "pool" in (getattr(dag, "default_args", None) or {})


def set_pool(kwargs: dict[str, Any], pool: str) -> None:
    """Use ``pool`` unless one was chosen (a pool in ``default_args`` wins over ours)."""
    if not pool_given(kwargs):
        kwargs["pool"] = pool


class MixpanelBaseOperator(BaseOperator):
    """An operator with a :class:`MixpanelHook`; ``pool`` defaults to the API's (see pools.py)."""

    #: The pool of this operator's API when it is fixed by the class (bulk jobs, the sensor).
    api_pool: ClassVar[Optional[str]] = None

    def __init__(
        self,
        *,
        mixpanel_conn_id: str = DEFAULT_CONN_ID,
        runner_kwargs: Optional[dict[str, Any]] = None,
        **kwargs: Any,
    ) -> None:
        set_pool(kwargs, self.default_pool(kwargs))
        super().__init__(**kwargs)
        self.mixpanel_conn_id = mixpanel_conn_id
        self.runner_kwargs = dict(runner_kwargs or {})
        self._hook: Optional[MixpanelHook] = None

    @classmethod
    def default_pool(cls, kwargs: dict[str, Any]) -> str:
        return cls.api_pool or DEFAULT_POOL.name

    @classmethod
    def partial(cls, **kwargs: Any) -> Any:  # type: ignore[override]
        """``.partial(...).expand(...)`` gets the API's pool too (mapped tasks skip ``__init__``)."""
        set_pool(kwargs, cls.default_pool(kwargs))
        return super().partial(**kwargs)

    @property
    def hook(self) -> MixpanelHook:
        if self._hook is None:
            self._hook = MixpanelHook(self.mixpanel_conn_id, **self.runner_kwargs)
        return self._hook

    def render_template_fields(self, context: Any, jinja_env: Any = None) -> None:
        # The connection's secrets are registered with the masker before anything is rendered,
        # so that a template that reads them shows *** in the rendered-template view too.
        with failure(self.log):
            self.hook.runner_options()
        super().render_template_fields(context, jinja_env)

    def post_execute(self, context: Any, result: Any = None) -> None:
        if self._hook is not None:
            self._hook.close()
        super().post_execute(context, result)

    def on_kill(self) -> None:
        if self._hook is not None:
            self._hook.abort()

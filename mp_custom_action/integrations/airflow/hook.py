"""``MixpanelHook``: one ``Runner`` built from a ``mixpanel`` Airflow connection."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Optional

from airflow.sdk import BaseHook
from airflow.sdk.log import mask_secret

from ...errors import MpError
from .connection import runner_options, secrets_of
from .provider import CONNECTION_TYPE, DEFAULT_CONN_ID

if TYPE_CHECKING:
    from ...core.results import Result
    from ...core.runner import Runner

__all__ = ["MixpanelHook"]

#: ``test_connection``'s call: a read of the project's event names, one Query request.
TEST_CALL = {
    "method": "GET",
    "api": "query",
    "relative_url": "/2.0/events/names",
    "query": {"type": "general", "limit": 1},
}


class MixpanelHook(BaseHook):
    """Builds one :class:`~mp_custom_action.core.runner.Runner` from a connection, on first use.

    Nothing is read or sent in ``__init__``: :meth:`get_conn` fetches the connection, registers
    its secrets with Airflow's masker and builds the runner; later calls reuse it (one runner,
    one connection pool, per task). ``runner_kwargs`` go to ``Runner`` (``timeout``,
    ``retries``...). ``MP_*`` variables of the worker are not read: the connection is the one
    source of credentials.
    """

    conn_name_attr = "mixpanel_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = CONNECTION_TYPE
    hook_name = "Mixpanel"

    def __init__(self, mixpanel_conn_id: str = DEFAULT_CONN_ID, **runner_kwargs: Any) -> None:
        super().__init__()
        self.mixpanel_conn_id = mixpanel_conn_id
        self.runner_kwargs = runner_kwargs
        self._runner: Optional[Runner] = None

    def runner_options(self) -> dict[str, Any]:
        """The connection read into ``Runner`` keyword arguments, its secrets masked."""
        conn = self.get_connection(self.mixpanel_conn_id)
        options = runner_options(
            conn_id=self.mixpanel_conn_id,
            login=conn.login,
            password=conn.password,
            extra=conn.extra,
        )
        for value in secrets_of(options):
            mask_secret(value)
        return options

    def get_conn(self) -> Runner:
        if self._runner is None:
            from ...core.runner import Runner

            env = {k: v for k, v in os.environ.items() if not k.startswith("MP_")}
            self._runner = Runner(**{**self.runner_options(), **self.runner_kwargs}, env=env)
        return self._runner

    def run(self, inputs: object, **kwargs: Any) -> Result:
        """``Runner.run``: checks the inputs, sends one call, returns its result."""
        return self.get_conn().run(inputs, **kwargs)

    def abort(self) -> None:
        """Cut every call in flight (``Runner.abort_all``): Airflow is killing the task."""
        if self._runner is not None:
            self._runner.abort_all()

    def close(self) -> None:
        if self._runner is not None:
            self._runner.close()
            self._runner = None

    def test_connection(self) -> tuple[bool, str]:
        """One harmless authenticated call: list the project's event names (a Query read)."""
        try:
            result = self.run(TEST_CALL, timeout=30)
        except MpError as exc:
            return False, str(exc)
        finally:
            self.close()
        if result.ok:
            return (
                True,
                f"Connection works: {result.method} {result.url} answered {result.status_code}",
            )
        detail = result.body.get("error") if isinstance(result.body, dict) else None
        return False, f"Mixpanel answered {result.status_code}" + (f": {detail}" if detail else "")

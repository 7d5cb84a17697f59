"""The error tree's exit statuses, and the one rule that turns an HTTP status into one."""

from __future__ import annotations

import pytest

from mp_custom_action.errors import ExitStatus, http_exit_status


@pytest.mark.parametrize(
    ("status_code", "expected"),
    [(400, ExitStatus.HTTP_4XX), (404, ExitStatus.HTTP_4XX), (499, ExitStatus.HTTP_4XX),
     (500, ExitStatus.HTTP_5XX), (503, ExitStatus.HTTP_5XX), (599, ExitStatus.HTTP_5XX),
     (302, ExitStatus.HTTP_4XX), (200, ExitStatus.HTTP_4XX)],
)  # fmt: skip
def test_a_failing_answer_is_4_unless_the_server_failed(
    status_code: int, expected: ExitStatus
) -> None:
    # 2xx and 3xx reach it only when a manifest step did not expect them: a failure of the caller's.
    assert http_exit_status(status_code) is expected

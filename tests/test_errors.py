"""The error tree's exit statuses, and the one rule that turns an HTTP status into one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mp_custom_action import errors
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


def _drawn_tree() -> list[tuple[int, str]]:
    """(depth, class name) of each line of the tree drawn in docs/errors.md."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "errors.md").read_text(encoding="utf-8")
    block = re.search(r"```\n(MpError.*?)```", text, re.S)
    assert block is not None
    out = []
    for line in block.group(1).splitlines():
        match = re.search(r"(\w+Error|\w+Exceeded|\w+Timeout|\w+TooLarge)\b", line)
        assert match is not None, line
        out.append((match.start() // 4, match.group(1)))
    return out


def test_the_drawn_tree_is_the_real_class_hierarchy() -> None:
    parents: list[type] = []
    for depth, name in _drawn_tree():
        cls = getattr(errors, name)
        del parents[depth:]
        if parents:
            parent = parents[-1]
            assert parent in cls.__bases__, f"{name} is drawn under {parent.__name__}"
            assert issubclass(cls, parent)
        else:
            assert cls is errors.MpError
        parents.append(cls)


def test_every_error_class_is_drawn() -> None:
    drawn = {name for _, name in _drawn_tree()}
    defined = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, errors.MpError)
    }
    assert defined == drawn


def test_each_error_keeps_its_exit_status_down_the_tree() -> None:
    assert errors.OutputError("x", path="f").exit_status == ExitStatus.OUTPUT_ERROR
    assert errors.ConfigError("x").exit_status == ExitStatus.INPUT_ERROR
    assert errors.ResponseTooLarge("x").exit_status == ExitStatus.TRANSPORT_ERROR

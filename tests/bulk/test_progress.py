"""bulk.progress: plain lines off a terminal, a tqdm bar on one, silence when asked."""

from __future__ import annotations

import io

import pytest
from clocks import FakeClock

from mp_custom_action.bulk.progress import Progress, format_line


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_lines_come_at_most_once_per_interval_and_a_last_one_on_close() -> None:
    clock = FakeClock()
    stream = io.StringIO()
    with Progress(
        "import", mode=None, stream=stream, interval=5.0, clock=clock.monotonic
    ) as progress:
        assert progress.mode == "lines"
        progress.advance(records=1000, nbytes=2_000_000)
        assert stream.getvalue() == ""
        clock.sleep(5.0)
        progress.advance(records=1000, nbytes=2_000_000)
        clock.sleep(1.0)
        progress.advance(records=1)
    lines = stream.getvalue().splitlines()
    assert lines == [
        "import: 2,000 records, 4.0 MB, 400 records/s, 5 s",
        "import: 2,001 records, 4.0 MB, 334 records/s, 6 s, done",
    ]


def test_line_shows_share_and_eta_when_the_total_is_known() -> None:
    line = format_line("import", 500, 25_000_000, 10.0, total_bytes=100_000_000)
    assert line == "import: 500 records, 25.0 MB, 50 records/s, 10 s, 25%, ETA 30 s"


def test_false_is_silent() -> None:
    stream = _Tty()
    progress = Progress("import", mode=False, stream=stream, interval=0.0)
    progress.advance(records=5)
    progress.note("retrying")
    progress.close()
    assert progress.records == 5
    assert stream.getvalue() == ""


def test_terminal_gets_a_tqdm_bar() -> None:
    pytest.importorskip("tqdm")
    stream = _Tty()
    with Progress("import", total_bytes=1000, stream=stream) as progress:
        assert progress.mode == "bar"
        progress.advance(records=10, nbytes=500)
        progress.note("batch 3 retried")
    text = stream.getvalue()
    assert "batch 3 retried" in text
    assert "10 records" in text


def test_bar_without_tqdm_falls_back_to_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_tqdm(name: str, *args: object, **kwargs: object) -> object:
        if name == "tqdm":
            raise ImportError("no tqdm")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    stream = _Tty()
    progress = Progress("import", stream=stream, interval=0.0)
    assert progress.mode == "lines"
    progress.advance(records=3)
    assert stream.getvalue().startswith("import: 3 records")


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="progress mode"):
        Progress("import", mode="fancy")

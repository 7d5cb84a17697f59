"""Export by windows: in parallel, in date order, resumable, a cut window fetched again whole."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import cli
from faults_servers import CutReply, FaultServer
from loopback import Received, Reply

from mp_custom_action.bulk import export_range
from mp_custom_action.bulk.windows import plan_windows
from mp_custom_action.core.retry import RetryPolicy
from mp_custom_action.core.runner import Runner
from mp_custom_action.errors import InputError
from mp_custom_action.sandbox import Sandbox

DAY0 = int(dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc).timestamp())
SECRET = "export-test-secret"


def seeded_sandbox(days: int = 5, per_hour: int = 2, **kw: Any) -> Sandbox:
    sb = Sandbox(**kw).start()
    sb.state.add_events(
        [
            {"event": "Hit" if n % 2 else "Buy",
             "properties": {"time": DAY0 + h * 3600 + n, "distinct_id": f"u{n}",
                            "$insert_id": f"id-{h}-{n}"}}
            for h in range(days * 24)
            for n in range(per_hour)
        ]
    )  # fmt: skip
    return sb


def sandbox_runner(sb: Sandbox, **kw: Any) -> Runner:
    c = sb.credentials
    return Runner(origin=sb.origin, username=c["username"], secret=c["secret"],
                  project_id=c["project_id"], env={}, **kw)  # fmt: skip


def times(path: Path) -> list[int]:
    return [json.loads(line)["properties"]["time"] for line in path.read_text().splitlines()]


# -- windows ---------------------------------------------------------------------------------------


def test_windows_of_days_hours_and_several_days() -> None:
    assert [w.name for w in plan_windows("2024-01-01", "2024-01-03")] == [
        "2024-01-01", "2024-01-02", "2024-01-03",
    ]  # fmt: skip
    two = plan_windows("2024-01-01", "2024-01-05", "2d")
    assert [(w.from_date, w.to_date) for w in two] == [
        ("2024-01-01", "2024-01-02"), ("2024-01-03", "2024-01-04"), ("2024-01-05", "2024-01-05"),
    ]  # fmt: skip
    six = plan_windows("2024-01-01", "2024-01-01", "6h")
    assert [w.name for w in six] == ["2024-01-01T00-06", "2024-01-01T06-12", "2024-01-01T12-18",
                                     "2024-01-01T18-24"]  # fmt: skip
    assert {(w.from_date, w.to_date) for w in six} == {("2024-01-01", "2024-01-01")}
    assert len(plan_windows("2022-01-01", "2023-12-31")) == 730


@pytest.mark.parametrize(
    ("args", "field", "words"),
    [
        (("2024-01-05", "2024-01-01", "1d"), "to_date", "backwards"),
        (("2020-01-01", "2024-01-01", "1d"), "to_date", "more than 2 years"),
        (("2024-01-01", "2024-01-02", "30m"), "window", "at least 1 hour"),
        (("2024-01-01", "2024-01-02", "0h"), "window", "at least 1 hour"),
        (("2024-01-01", "2024-01-02", "5h"), "window", "divide"),
        (("2024-01-01", "2024-01-02", "week"), "window", "1d or 6h"),
        (("2024-13-01", "2024-01-02", "1d"), "from_date", "YYYY-MM-DD"),
    ],
)
def test_bad_ranges_and_windows_are_refused_naming_the_field(
    args: tuple[str, str, str], field: str, words: str
) -> None:
    with pytest.raises(InputError, match=words) as caught:
        plan_windows(*args)
    assert caught.value.field == field


# -- end to end against the sandbox ----------------------------------------------------------------


def test_parallel_windows_land_in_one_file_in_date_order(tmp_path: Path) -> None:
    sb = seeded_sandbox(days=5)
    try:
        with sandbox_runner(sb) as runner:
            summary = export_range(
                runner, "2024-01-01", "2024-01-05", parallel=4, output=tmp_path / "out.jsonl"
            )
        assert len(sb.requests) == 5
    finally:
        sb.stop()
    got = times(tmp_path / "out.jsonl")
    days = [(t - DAY0) // 86400 for t in got]
    assert days == sorted(days) and set(days) == {0, 1, 2, 3, 4}
    assert len(got) == 5 * 24 * 2
    d = summary.to_dict()
    assert d == {**d, "ok": True, "windows": 5, "fetched": 5, "resumed": 0, "events": 240,
                 "output": str(tmp_path / "out.jsonl"), "failed": []}  # fmt: skip
    assert d["bytes"] == (tmp_path / "out.jsonl").stat().st_size
    # No part files or folders are left behind; the state file holds no credential.
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "out.jsonl",
        "out.jsonl.export-state.json",
    ]
    assert sb.credentials["secret"] not in (tmp_path / "out.jsonl.export-state.json").read_text()


def test_one_file_per_window_with_hour_windows_keeps_each_windows_events(tmp_path: Path) -> None:
    sb = seeded_sandbox(days=1)
    try:
        with sandbox_runner(sb) as runner:
            summary = export_range(
                runner, "2024-01-01", "2024-01-01", window="6h", parallel=2,
                output_dir=tmp_path / "out", event=["Hit"],
            )  # fmt: skip
    finally:
        sb.stop()
    assert [Path(f).name for f in summary.files] == [
        "2024-01-01T00-06.jsonl", "2024-01-01T06-12.jsonl", "2024-01-01T12-18.jsonl",
        "2024-01-01T18-24.jsonl",
    ]  # fmt: skip
    for k, name in enumerate(summary.files):
        got = times(Path(name))
        assert len(got) == 6  # six hours, one "Hit" an hour
        assert all(DAY0 + k * 6 * 3600 <= t < DAY0 + (k + 1) * 6 * 3600 for t in got)
    assert summary.events == 24


def test_event_and_limit_reach_the_request(tmp_path: Path) -> None:
    sb = seeded_sandbox(days=2)
    try:
        with sandbox_runner(sb) as runner:
            summary = export_range(runner, "2024-01-01", "2024-01-02", output=tmp_path / "o.jsonl",
                                   event="Buy", limit=5)  # fmt: skip
        queries = [dict(r.query) for r in sb.requests]
    finally:
        sb.stop()
    assert summary.events == 10
    assert {q["event"] for q in queries} == {'["Buy"]'} and {q["limit"] for q in queries} == {"5"}


def test_bad_input_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    with FaultServer() as srv, Runner(origin=srv.origin, username="u", secret=SECRET,
                                      project_id=1, env={}) as runner:  # fmt: skip
        for kwargs, field in [
            ({"output": tmp_path / "o", "parallel": 0}, "parallel"),
            ({"output": tmp_path / "o", "limit": 100_001}, "limit"),
            ({"output": tmp_path / "o", "event": [""]}, "event"),
            ({"output": tmp_path / "no" / "o"}, "output"),
            ({"output": tmp_path / "o", "output_dir": tmp_path}, "output"),
            ({}, "output"),
        ]:
            with pytest.raises(InputError) as caught:
                export_range(runner, "2024-01-01", "2024-01-02", **kwargs)  # type: ignore[arg-type]
            assert caught.value.field == field
        assert srv.received == []


# -- cuts, failures, resume (a scripted Export server) ---------------------------------------------


class ExportServer:
    """Answers Export by from_date: ``per_day`` events a day; faults set per day."""

    def __init__(self, srv: FaultServer, per_day: int = 50) -> None:
        self.srv = srv
        self.per_day = per_day
        self.cut_once: set[str] = set()
        self.fail: dict[str, int] = {}
        self.gzip = False
        self.lock = threading.Lock()
        srv.handler = self.handle

    def body(self, day: str) -> bytes:
        start = int(dt.datetime.fromisoformat(day).replace(tzinfo=dt.timezone.utc).timestamp())
        return b"".join(
            json.dumps(
                {"event": "E", "properties": {"time": start + i * 60, "n": i, "day": day}}
            ).encode()
            + b"\n"
            for i in range(self.per_day)
        )

    def handle(self, req: Received) -> Reply:
        day = dict(req.query)["from_date"]
        if day in self.fail:
            return Reply.json({"error": f"no {day}"}, status=self.fail[day])
        body = self.body(day)
        with self.lock:
            cut = day in self.cut_once
            self.cut_once.discard(day)
        if cut:
            head = f"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n\r\n"
            return CutReply(cut=head.encode() + body[: len(body) // 2])
        headers = {"Content-Type": "text/plain"}
        if self.gzip:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        return Reply(200, headers, body)

    def days(self) -> list[str]:
        return [dict(r.query)["from_date"] for r in self.srv.received]


@pytest.fixture
def export_server() -> Any:
    with FaultServer() as srv:
        yield ExportServer(srv)


def fast_runner(origin: str, retries: int = 2) -> Runner:
    policy = RetryPolicy(retries=retries, backoff_base=0.01, jitter=(0.0, 0.0))
    return Runner(origin=origin, username="u", secret=SECRET, project_id=7, env={},
                  retry_policy=policy)  # fmt: skip


def test_a_window_cut_mid_stream_is_fetched_again_whole(
    tmp_path: Path, export_server: ExportServer
) -> None:
    export_server.cut_once = {"2024-01-02"}
    out = tmp_path / "o.jsonl"
    with fast_runner(export_server.srv.origin) as runner:
        summary = export_range(runner, "2024-01-01", "2024-01-03", parallel=3, output=out)
    assert summary.ok and summary.events == 150
    assert export_server.days().count("2024-01-02") == 2
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [(x["properties"]["day"], x["properties"]["n"]) for x in lines] == [
        (d, i) for d in ("2024-01-01", "2024-01-02", "2024-01-03") for i in range(50)
    ]


def test_a_gzip_body_is_written_decoded(tmp_path: Path, export_server: ExportServer) -> None:
    export_server.gzip = True
    out = tmp_path / "o.jsonl"
    with fast_runner(export_server.srv.origin) as runner:
        export_range(runner, "2024-01-01", "2024-01-01", output=out)
    assert out.read_bytes() == export_server.body("2024-01-01")


def test_a_failed_window_stops_the_run_and_resume_carries_on(
    tmp_path: Path, export_server: ExportServer
) -> None:
    export_server.fail = {"2024-01-03": 500}
    out = tmp_path / "o.jsonl"
    with fast_runner(export_server.srv.origin, retries=0) as runner:
        summary = export_range(runner, "2024-01-01", "2024-01-05", output=out)
        assert not summary.ok
        assert summary.failed == [{"window": "2024-01-03", "error": "HTTP 500: no 2024-01-03",
                                   "exit_status": 5, "status_code": 500}]  # fmt: skip
        assert export_server.days() == ["2024-01-01", "2024-01-02", "2024-01-03"]
        assert summary.fetched == 2 and len(out.read_text().splitlines()) == 100
        export_server.fail = {}
        again = export_range(runner, "2024-01-01", "2024-01-05", output=out, resume=True)
    assert again.ok and (again.resumed, again.fetched) == (2, 3)
    assert export_server.days()[3:] == ["2024-01-03", "2024-01-04", "2024-01-05"]
    days = [json.loads(x)["properties"]["day"] for x in out.read_text().splitlines()]
    assert days == [f"2024-01-0{d}" for d in range(1, 6) for _ in range(50)]


def test_resume_cuts_off_a_half_appended_window(
    tmp_path: Path, export_server: ExportServer
) -> None:
    out = tmp_path / "o.jsonl"
    export_server.fail = {"2024-01-03": 503}
    with fast_runner(export_server.srv.origin, retries=0) as runner:
        export_range(runner, "2024-01-01", "2024-01-03", output=out)
        # A run killed while appending the third window leaves part of it in the file, and the
        # state file says nothing of it.
        with open(out, "ab") as fh:
            fh.write(export_server.body("2024-01-03")[:777])
        export_server.fail = {}
        again = export_range(runner, "2024-01-01", "2024-01-03", output=out, resume=True)
    assert again.ok and (again.resumed, again.fetched) == (2, 1)
    assert out.read_bytes() == b"".join(
        export_server.body(d) for d in ("2024-01-01", "2024-01-02", "2024-01-03")
    )


def test_resume_of_a_different_export_is_refused_before_sending(
    tmp_path: Path, export_server: ExportServer
) -> None:
    out = tmp_path / "o.jsonl"
    with fast_runner(export_server.srv.origin) as runner:
        export_range(runner, "2024-01-01", "2024-01-02", output=out)
        sent = len(export_server.srv.received)
        with pytest.raises(InputError, match=r"different export .*to_date") as caught:
            export_range(runner, "2024-01-01", "2024-01-03", output=out, resume=True)
    assert caught.value.field == "resume"
    assert len(export_server.srv.received) == sent


# -- the command -----------------------------------------------------------------------------------


def test_export_command_prints_a_summary_and_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sb = seeded_sandbox(days=3)
    try:
        for name, value in sb.env().items():
            monkeypatch.setenv(name, value)
        args = ("--origin", sb.origin, "--from-date", "2024-01-01", "--to-date", "2024-01-03")
        out = cli("export", *args, "--parallel", "3", "-o", str(tmp_path / "e.jsonl"))
        quiet = cli("export", "-q", *args, "-o", str(tmp_path / "q.jsonl"))
    finally:
        sb.stop()
    assert out.exit_status == 0, out.stderr
    assert out.json["events"] == 144 and out.json["windows"] == 3 and out.json["ok"] is True
    assert out.stderr.startswith("export: 144 records, 0.0 MB, ") and out.stderr.endswith(
        ", done\n"
    )
    assert sb.credentials["secret"] not in out.stderr + out.stdout
    assert quiet.exit_status == 0 and quiet.stderr == ""


def test_progress_false_is_silent_and_an_object_is_told(
    tmp_path: Path, export_server: ExportServer, capsys: pytest.CaptureFixture[str]
) -> None:
    class Told:
        def __init__(self) -> None:
            self.records = self.nbytes = 0
            self.notes: list[str] = []

        def advance(self, records: int = 0, nbytes: int = 0) -> None:
            self.records += records
            self.nbytes += nbytes

        def note(self, text: str) -> None:
            self.notes.append(text)

    told = Told()
    export_server.fail = {"2024-01-02": 404}
    with fast_runner(export_server.srv.origin) as runner:
        export_range(runner, "2024-01-01", "2024-01-01", output=tmp_path / "a", progress=False)
        assert capsys.readouterr().err == ""
        export_range(runner, "2024-01-01", "2024-01-02", output=tmp_path / "b", progress=told)
    assert told.records == 50 and told.nbytes == len(export_server.body("2024-01-01"))
    assert told.notes == ["window 2024-01-02 failed: HTTP 404: no 2024-01-02"]


def test_export_command_exit_status_of_a_failed_window(
    tmp_path: Path, export_server: ExportServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    export_server.fail = {"2024-01-02": 403}
    for name, value in {"MP_USERNAME": "u", "MP_SECRET": SECRET, "MP_PROJECT_ID": "7"}.items():
        monkeypatch.setenv(name, value)
    out = cli("export", "--origin", export_server.srv.origin, "--from-date", "2024-01-01",
              "--to-date", "2024-01-03", "--output-dir", str(tmp_path / "d"))  # fmt: skip
    assert out.exit_status == 4
    assert out.json["failed"][0]["window"] == "2024-01-02"
    assert "window 2024-01-02 failed: HTTP 403" in out.stderr
    assert SECRET not in out.stdout + out.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (
            ("--from-date", "2024-02-01", "--to-date", "2024-01-01"),
            "to_date: the range runs backwards",
        ),
        (("--from-date", "2021-01-01", "--to-date", "2024-01-01"), "more than 2 years"),
        (
            ("--from-date", "2024-01-01", "--to-date", "2024-01-01", "--window", "20m"),
            "window: a window is at least 1 hour",
        ),
    ],
)
def test_export_command_bad_input_is_one_line_before_sending(
    tmp_path: Path, export_server: ExportServer, monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...], words: str,
) -> None:  # fmt: skip
    for name, value in {"MP_USERNAME": "u", "MP_SECRET": SECRET, "MP_PROJECT_ID": "7"}.items():
        monkeypatch.setenv(name, value)
    out = cli("export", "--origin", export_server.srv.origin, *args, "-o", str(tmp_path / "o"))
    assert out.exit_status == 2
    assert out.stderr.count("\n") == 1 and words in out.stderr
    assert export_server.srv.received == []


def test_export_dry_run_shows_every_windows_request(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"MP_USERNAME": "u", "MP_SECRET": SECRET, "MP_PROJECT_ID": "7"}.items():
        monkeypatch.setenv(name, value)
    out = cli("export", "--from-date", "2024-01-01", "--to-date", "2024-01-02", "-o", "x.jsonl",
              "--dry-run")  # fmt: skip
    assert out.exit_status == 0
    urls = [r["url"] for r in out.json["requests"]]
    assert urls == [
        "https://data.mixpanel.com/api/2.0/export?from_date=2024-01-01&to_date=2024-01-01&project_id=7",
        "https://data.mixpanel.com/api/2.0/export?from_date=2024-01-02&to_date=2024-01-02&project_id=7",
    ]
    assert SECRET not in out.stdout


def test_sandbox_stream_rate_still_serves_whole_bodies(tmp_path: Path) -> None:
    sb = seeded_sandbox(days=1, stream_rate=5_000_000.0)
    try:
        with sandbox_runner(sb) as runner:
            summary = export_range(runner, "2024-01-01", "2024-01-01", output=tmp_path / "o")
    finally:
        sb.stop()
    assert summary.events == 48
    with pytest.raises(ValueError, match="stream_rate"):
        Sandbox(stream_rate=-1.0)


@pytest.mark.parametrize("value", ["0", "-1", "fast", "inf"])
def test_sandbox_refuses_a_bad_stream_rate(value: str) -> None:
    out = cli("sandbox", "--stream-rate", value)
    assert out.exit_status == 2 and "--stream-rate" in out.stderr


def test_a_full_disk_is_an_output_error_and_resume_recovers(
    tmp_path: Path, export_server: ExportServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import shutil

    from mp_custom_action.errors import OutputError

    out = tmp_path / "o.jsonl"
    real = shutil.copyfileobj
    calls = {"n": 0}

    def copy(src: Any, dst: Any, length: int = 0) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            dst.write(src.read(100))  # part of the second window, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        real(src, dst, length)

    monkeypatch.setattr(shutil, "copyfileobj", copy)
    with fast_runner(export_server.srv.origin) as runner:
        with pytest.raises(OutputError, match="no space left on device") as caught:
            export_range(runner, "2024-01-01", "2024-01-03", output=out)
        assert caught.value.exit_status == 8
        again = export_range(runner, "2024-01-01", "2024-01-03", output=out, resume=True)
    assert (again.resumed, again.fetched) == (1, 2)
    assert out.read_bytes() == b"".join(
        export_server.body(d) for d in ("2024-01-01", "2024-01-02", "2024-01-03")
    )

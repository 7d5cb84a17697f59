"""import_files end to end over loopback: the sandbox, and scripted servers for Mixpanel's answers."""

from __future__ import annotations

import _thread
import gzip
import io
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from clocks import FakeClock
from loopback import Received, Reply, ScriptedServer

from mp_custom_action.bulk import ImportSummary, import_files
from mp_custom_action.bulk.checkpoint import CheckpointError
from mp_custom_action.core.runner import Runner
from mp_custom_action.errors import ExitStatus, InputError
from mp_custom_action.sandbox import Sandbox

T0 = 1_700_000_000
SA = {"username": "sa.user", "secret": "sa-s3cret-value", "project_id": 4242}


def ev(i: int, *, insert_id: bool = True) -> dict[str, Any]:
    props: dict[str, Any] = {"time": T0 + i, "distinct_id": f"u{i % 13}", "n": i}
    if insert_id:
        props["$insert_id"] = f"id-{i}"
    return {"event": "Viewed", "properties": props}


def write_ndjson(path: Path, items: list[Any]) -> Path:
    path.write_text("".join(json.dumps(x) + "\n" for x in items))
    return path


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(port=0) as sb:
        yield sb


def sandbox_runner(sb: Sandbox, **options: Any) -> Runner:
    return Runner(origin=sb.origin, env={}, **{**sb.credentials, **options})


def scripted_runner(server: ScriptedServer, **options: Any) -> Runner:
    clock = FakeClock()
    return Runner(
        origin=server.origin, env={}, clock=clock.monotonic, wall_clock=clock.wall,
        sleep=clock.sleep, **{**SA, **options},
    )  # fmt: skip


class Sink:
    """An /import that de-duplicates by $insert_id as Mixpanel does, counting every delivery."""

    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.deliveries = 0
        self.requests = 0
        self.lock = threading.Lock()
        self.after_request: Any = None

    def __call__(self, req: Received) -> Reply:
        lines = gzip.decompress(req.body).splitlines()
        with self.lock:
            self.requests += 1
            for line in lines:
                self.ids.add(json.loads(line)["properties"]["$insert_id"])
            self.deliveries += len(lines)
            n = self.requests
        if self.after_request is not None:
            self.after_request(n)
        return Reply.json({"code": 200, "num_records_imported": len(lines), "status": "OK"})


def test_ndjson_array_and_gzip_files_arrive_each_record_once(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    first = write_ndjson(tmp_path / "a.ndjson", [ev(i) for i in range(2500)])
    second = tmp_path / "b.json"
    second.write_text(json.dumps([ev(i, insert_id=False) for i in range(2500, 3000)], indent=2))
    third = tmp_path / "c.ndjson.gz"
    third.write_bytes(
        gzip.compress(b"".join(json.dumps(ev(i)).encode() + b"\n" for i in range(3000, 4100)))
    )
    with sandbox_runner(sandbox) as runner:
        summary = import_files(
            runner, "events", [str(first), str(second), str(third)], progress=False
        )
    assert isinstance(summary, ImportSummary)
    out = summary.to_dict()
    assert {k: out[k] for k in ("read", "sent", "accepted", "rejected", "batches", "complete")} == {
        "read": 4100, "sent": 4100, "accepted": 4100, "rejected": 0, "batches": 4, "complete": True,
    }  # fmt: skip
    assert out["retried_batches"] == 0 and out["seconds"] > 0
    stored = sandbox.state.events()
    assert sorted(e["properties"]["n"] for e in stored) == list(range(4100))
    made = [
        e["properties"]["$insert_id"]
        for e in stored
        if e["properties"]["n"] >= 2500 and e["properties"]["n"] < 3000
    ]
    assert len(set(made)) == 500 and all(len(i) == 32 for i in made)
    assert (
        summary.checkpoint is None and not (tmp_path / "a.ndjson.import-checkpoint.json").exists()
    )


def test_bad_records_go_to_the_rejects_file_with_line_and_reason(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    items: list[Any] = [ev(i) for i in range(10)]
    items[3] = {"event": "", "properties": {}}
    items[7] = ev(7)
    items[7]["properties"]["$insert_id"] = "has spaces"
    path = tmp_path / "e.ndjson"
    path.write_text("".join(json.dumps(x) + "\n" for x in items) + "{oops\n")
    with sandbox_runner(sandbox) as runner:
        summary = import_files(runner, "events", str(path), progress=False)
    assert (summary.read, summary.accepted, summary.rejected, summary.exit_status) == (11, 8, 3, 0)
    rejects = [
        json.loads(line) for line in (tmp_path / "e.ndjson.rejects.jsonl").read_text().splitlines()
    ]
    assert [(r["line"], r["stage"]) for r in rejects] == [(4, "check"), (8, "check"), (11, "check")]
    assert "'event'" in rejects[0]["reason"] and "$insert_id" in rejects[1]["reason"]
    assert rejects[2]["record"] == "{oops" and rejects[2]["reason"].startswith("not valid JSON")
    assert summary.rejects == str(tmp_path / "e.ndjson.rejects.jsonl")


def test_events_go_as_gzip_ndjson_to_strict_import_in_batches_of_2000(
    tmp_path: Path, server: ScriptedServer
) -> None:
    sink = Sink()
    server.handler = sink
    path = write_ndjson(tmp_path / "e.ndjson", [ev(i) for i in range(4001)])
    with scripted_runner(server) as runner:
        summary = import_files(runner, "events", str(path), workers=2, progress=False)
    assert summary.accepted == 4001 and len(sink.ids) == 4001
    sizes = sorted(len(gzip.decompress(r.body).splitlines()) for r in server.received)
    assert sizes == [1, 2000, 2000]
    for req in server.received:
        assert (req.method, req.path) == ("POST", "/import")
        assert dict(req.query) == {"strict": "1", "project_id": "4242"}
        assert req.header("Content-Type") == "application/x-ndjson"
        assert req.header("Content-Encoding") == "gzip"
        assert req.header(
            "Authorization",
        ).startswith("Basic ")  # type: ignore[union-attr]
        plain = gzip.decompress(req.body)
        assert len(plain) < 200 or len(req.body) < 0.3 * len(plain)


def test_a_400_partial_success_rejects_the_failed_records_and_resends_nothing(
    tmp_path: Path, server: ScriptedServer
) -> None:
    def partial(req: Received) -> Reply:
        n = len(gzip.decompress(req.body).splitlines())
        failed = [
            {"index": 1, "insert_id": "id-1", "field": "properties.time", "message": "too old"}
        ]
        return Reply.json({"code": 400, "error": "some data points in the request failed validation",
                           "num_records_imported": n - 1, "failed_records": failed}, status=400)  # fmt: skip

    server.handler = partial
    path = write_ndjson(tmp_path / "e.ndjson", [ev(i) for i in range(5)])
    with scripted_runner(server) as runner:
        summary = import_files(runner, "events", str(path), progress=False)
    assert len(server.received) == 1
    assert (summary.accepted, summary.rejected, summary.complete) == (4, 1, True)
    (reject,) = [
        json.loads(x) for x in (tmp_path / "e.ndjson.rejects.jsonl").read_text().splitlines()
    ]
    assert reject["line"] == 2 and reject["stage"] == "mixpanel"
    assert reject["reason"] == "Mixpanel: properties.time: too old"
    assert reject["record"] == ev(1)


def test_429_and_503_are_retried_with_backoff_and_counted(
    tmp_path: Path, server: ScriptedServer
) -> None:
    answers = iter(
        [Reply.json({"error": "slow down"}, status=429), Reply.json({"error": "x"}, status=503)]
    )
    sink = Sink()
    server.handler = lambda req: next(answers, None) or sink(req)
    path = write_ndjson(tmp_path / "e.ndjson", [ev(i) for i in range(10)])
    with scripted_runner(server) as runner:
        summary = import_files(runner, "events", str(path), progress=False)
    assert len(server.received) == 3
    assert (summary.accepted, summary.retried_batches, summary.complete) == (10, 1, True)


def test_retries_exhausted_stop_the_run_and_a_resume_delivers_each_record_once(
    tmp_path: Path, server: ScriptedServer
) -> None:
    sink = Sink()
    calls = {"n": 0}

    def flaky(req: Received) -> Reply:
        calls["n"] += 1
        if calls["n"] >= 3:
            return Reply.json({"error": "down"}, status=503)
        return sink(req)

    server.handler = flaky
    path = write_ndjson(tmp_path / "e.ndjson", [ev(i) for i in range(20_000)])
    with scripted_runner(server, retries=0) as runner:
        first = import_files(runner, "events", str(path), workers=1, progress=False)
    assert first.stopped is not None and "HTTP 503" in first.stopped["reason"]
    assert first.exit_status == ExitStatus.HTTP_5XX
    checkpoint = tmp_path / "e.ndjson.import-checkpoint.json"
    state = json.loads(checkpoint.read_text())
    assert state["done"] == [[0, 1]] and first.accepted == 4000
    server.handler = sink
    with scripted_runner(server) as runner:
        second = import_files(runner, "events", str(path), resume=True, progress=False)
    assert second.complete and second.resumed and second.skipped_batches == 2
    assert second.accepted == 20_000 and sink.deliveries == 20_000
    assert sink.ids == {f"id-{i}" for i in range(20_000)}
    assert not checkpoint.exists()


def test_ctrl_c_leaves_a_consistent_checkpoint_and_resume_is_exactly_once(
    tmp_path: Path, server: ScriptedServer
) -> None:
    items: list[Any] = [ev(i) for i in range(30_000)]
    for bad in (5, 9_000, 29_000):
        items[bad] = {"event": "x"}
    path = write_ndjson(tmp_path / "e.ndjson", items)
    sink = Sink()
    sink.after_request = lambda n: _thread.interrupt_main() if n == 4 else None
    server.handler = sink
    with scripted_runner(server) as runner, pytest.raises(KeyboardInterrupt) as info:
        import_files(runner, "events", str(path), workers=2, progress=False)
    stopped = info.value.summary  # type: ignore[attr-defined]
    assert stopped.stopped == {"reason": "interrupted"} and stopped.exit_status == 130
    state = json.loads((tmp_path / "e.ndjson.import-checkpoint.json").read_text())
    rejects_path = tmp_path / "e.ndjson.rejects.jsonl"
    assert state["rejects_bytes"] == rejects_path.stat().st_size
    sink.after_request = None
    with scripted_runner(server) as runner:
        resumed = import_files(runner, "events", str(path), resume=True, workers=2, progress=False)
    assert resumed.complete and resumed.skipped_batches >= 2  # 3 answered; one may be cut
    assert sink.ids == {f"id-{i}" for i in range(30_000)} - {"id-5", "id-9000", "id-29000"}
    assert sink.deliveries <= 29_997 + 2 * 2000  # at most the batches in flight went twice
    lines = [json.loads(x)["line"] for x in rejects_path.read_text().splitlines()]
    assert lines == [6, 9_001, 29_001]
    assert (
        resumed.rejected == 3 and resumed.accepted == len(sink.ids) + (sink.deliveries - 29_997) * 0
    )


def test_a_checkpoint_refuses_another_file_or_project(
    tmp_path: Path, server: ScriptedServer
) -> None:
    server.handler = lambda req: Reply.json({"error": "down"}, status=503)
    path = write_ndjson(tmp_path / "e.ndjson", [ev(i) for i in range(10)])
    with scripted_runner(server, retries=0) as runner:
        assert import_files(runner, "events", str(path), progress=False).stopped is not None
        with pytest.raises(InputError, match="holds an unfinished import; add --resume"):
            import_files(runner, "events", str(path), progress=False)
    with (
        scripted_runner(server, project_id=99) as runner,
        pytest.raises(CheckpointError, match="another project"),
    ):
        import_files(runner, "events", str(path), resume=True, progress=False)
    write_ndjson(path, [ev(i) for i in range(11)])
    with scripted_runner(server) as runner, pytest.raises(CheckpointError, match="another file"):
        import_files(runner, "events", str(path), resume=True, progress=False)
    assert len(server.received) == 1


def test_a_checkpoint_refuses_a_resume_where_records_would_be_written_by_another_library(
    tmp_path: Path, server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """orjson writes UTF-8 where json writes \\u escapes: batches of written-back records would
    be cut elsewhere, and a resume that skips batches by number would skip unsent records."""
    from mp_custom_action.bulk import imports

    server.handler = lambda req: Reply.json({"error": "down"}, status=503)
    path = write_ndjson(tmp_path / "e.ndjson", [ev(i, insert_id=False) for i in range(10)])
    with scripted_runner(server, retries=0) as runner:
        assert import_files(runner, "events", str(path), progress=False).stopped is not None
    other = "json" if imports.WRITER == "orjson" else "orjson"
    monkeypatch.setattr(imports, "WRITER", other)
    with (
        scripted_runner(server) as runner,
        pytest.raises(CheckpointError, match=f"re-serialised by .*, here by {other}"),
    ):
        import_files(runner, "events", str(path), resume=True, progress=False)
    assert len(server.received) == 1


def test_max_rejects_stops_the_run(tmp_path: Path, sandbox: Sandbox) -> None:
    path = write_ndjson(tmp_path / "e.ndjson", [{"event": "x"}] * 10 + [ev(i) for i in range(10)])
    with sandbox_runner(sandbox) as runner:
        summary = import_files(runner, "events", str(path), max_rejects=3, progress=False)
    assert summary.rejected == 4 and summary.exit_status == ExitStatus.INPUT_ERROR
    assert summary.stopped == {"reason": "more than 3 records rejected (--max-rejects)"}
    assert sandbox.state.events() == []
    assert (tmp_path / "e.ndjson.import-checkpoint.json").exists()


def test_a_file_that_goes_bad_midway_sends_what_was_read_and_says_where(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    data = gzip.compress(b"".join(json.dumps(ev(i)).encode() + b"\n" for i in range(50_000)))
    stdin = io.BytesIO(data[: len(data) // 2])
    with sandbox_runner(sandbox) as runner:
        summary = import_files(
            runner, "events", "-", stdin=stdin, checkpoint=str(tmp_path / "cp.json"),
            rejects=str(tmp_path / "rejects.jsonl"), progress=False,
        )  # fmt: skip
    assert summary.stopped is not None and summary.stopped["file"] == "-"
    assert summary.stopped["line"] == summary.read + 1
    assert "truncated" in summary.stopped["reason"]
    assert summary.exit_status == ExitStatus.INPUT_ERROR
    assert len(sandbox.state.events()) == summary.accepted == summary.read > 0
    assert json.loads((tmp_path / "cp.json").read_text())["counts"]["accepted"] == summary.accepted


def test_bad_input_is_refused_before_anything_is_sent(
    tmp_path: Path, server: ScriptedServer
) -> None:
    good = write_ndjson(tmp_path / "good.ndjson", [ev(1)])
    csv = tmp_path / "e.csv"
    csv.write_text("event,time\n")
    with scripted_runner(server) as runner:
        for paths, message in (
            ([str(good), str(csv)], "neither a JSON array nor NDJSON"),
            ([str(good), str(tmp_path / "nope.json")], "cannot read"),
            ([], "at least one file"),
        ):
            with pytest.raises(InputError, match=message):
                import_files(runner, "events", paths, progress=False)
        with pytest.raises(InputError, match="kind"):
            import_files(runner, "purchases", [str(good)])
        with pytest.raises(InputError, match="workers"):
            import_files(runner, "events", [str(good)], workers=0)
    assert server.received == []
    assert not (tmp_path / "good.ndjson.rejects.jsonl").exists()


def test_dry_run_sends_and_writes_nothing(tmp_path: Path, server: ScriptedServer) -> None:
    path = write_ndjson(tmp_path / "e.ndjson", [ev(i) for i in range(2001)] + [{"event": 1}])
    with scripted_runner(server) as runner:
        summary = import_files(runner, "events", str(path), dry_run=True, progress=False)
    out = summary.to_dict()
    assert server.received == [] and sorted(p.name for p in tmp_path.iterdir()) == ["e.ndjson"]
    assert (out["batches"], out["sent"], out["rejected"]) == (2, 0, 1)
    assert out["request"]["url"].endswith("/import?strict=1&project_id=4242")
    assert out["request"]["headers"]["Authorization"] == "Basic ***"
    assert out["first_rejects"][0]["line"] == 2002
    assert "sa-s3cret-value" not in json.dumps(out)


def test_profiles_and_groups_go_to_engage_and_groups(tmp_path: Path, sandbox: Sandbox) -> None:
    profiles = write_ndjson(
        tmp_path / "p.ndjson",
        [{"$distinct_id": f"u{i}", "$set": {"plan": "pro"}} for i in range(2100)] + [{"$set": {}}],
    )
    groups = tmp_path / "g.json"
    groups.write_text(
        json.dumps([{"$group_key": "company", "$group_id": "acme", "$set": {"size": 5}}])
    )
    with sandbox_runner(sandbox) as runner:
        one = import_files(runner, "profiles", str(profiles), progress=False)
        two = import_files(runner, "groups", str(groups), progress=False)
    assert (one.accepted, one.rejected, one.batches) == (2100, 1, 2)
    assert two.accepted == 1
    assert sandbox.state.profiles()["u7"]["plan"] == "pro"
    assert sandbox.state.groups()["company"]["acme"]["size"] == 5
    token = sandbox.credentials["token"]
    assert token not in (tmp_path / "p.ndjson.rejects.jsonl").read_text()


def test_no_credential_in_checkpoint_rejects_or_summary(
    tmp_path: Path, server: ScriptedServer
) -> None:
    server.handler = lambda req: Reply.json({"error": "down"}, status=503)
    path = write_ndjson(
        tmp_path / "e.ndjson", [ev(1), {"event": "x", "properties": {"token": "tok-in-data"}}]
    )
    with scripted_runner(server, retries=0, token="tok-123456") as runner:
        summary = import_files(runner, "events", str(path), progress=False)
    written = "".join(p.read_text() for p in tmp_path.iterdir() if p.name != "e.ndjson")
    written += json.dumps(summary.to_dict())
    for secret in ("sa-s3cret-value", "sa.user", "tok-123456", "tok-in-data"):
        assert secret not in written


def test_core_sends_a_caller_encoded_body_as_it_is(server: ScriptedServer) -> None:
    """The wire contract import builds on: bytes with their own Content-Type and Content-Encoding."""
    body = gzip.compress(b'{"event":"x"}\n')
    with scripted_runner(server) as runner:
        runner.run({
            "method": "POST", "api": "ingestion", "relative_url": "/import",
            "headers": {"Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"},
            "body": body,
        })  # fmt: skip
    (req,) = server.received
    assert req.body == body and req.header("Content-Encoding") == "gzip"


def test_a_connection_that_keeps_failing_stops_with_exit_6_and_a_checkpoint(
    tmp_path: Path, server: ScriptedServer
) -> None:
    server.handler = lambda req: Reply(drop=True)
    path = write_ndjson(tmp_path / "e.ndjson", [ev(i) for i in range(3000)])
    with scripted_runner(server, retries=1) as runner:
        summary = import_files(runner, "events", str(path), workers=1, progress=False)
    assert summary.exit_status == ExitStatus.TRANSPORT_ERROR
    assert summary.stopped is not None and summary.stopped["line"] == 1
    assert summary.accepted == 0 and summary.sent == 0
    state = json.loads((tmp_path / "e.ndjson.import-checkpoint.json").read_text())
    assert state["done"] == []


def test_a_profiles_dry_run_shows_one_update_with_the_token_redacted(
    tmp_path: Path, server: ScriptedServer
) -> None:
    path = write_ndjson(
        tmp_path / "p.ndjson", [{"$distinct_id": f"u{i}", "$set": {"a": i}} for i in range(3)]
    )
    with scripted_runner(server, token="tok-secret-1234") as runner:
        out = import_files(runner, "profiles", str(path), dry_run=True, progress=False).to_dict()
    assert server.received == []
    assert out["request"]["body"].startswith("<3 updates as a JSON array")
    assert out["request"]["first_update"] == {
        "$distinct_id": "u0",
        "$set": {"a": 0},
        "$token": "***",
    }
    assert "tok-secret-1234" not in json.dumps(out)

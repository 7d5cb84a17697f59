"""Rate budgets: Mixpanel's per-project limits counted in one ledger every process shares."""

from __future__ import annotations

import base64
import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import cli
from clocks import FakeClock

from mp_custom_action.bulk.budgets import Budgets, Ledger, ledger_path
from mp_custom_action.core.runner import Runner
from mp_custom_action.errors import BudgetSpentError, ExitStatus, InputError
from mp_custom_action.sandbox import Sandbox

SECRET = "budget-test-secret-value"


def runner(origin: str | None = None) -> Runner:
    return Runner(username="sa.user", secret=SECRET, project_id=4242, origin=origin, env={})


def query(r: Runner, path: str = "/2.0/events/names") -> object:
    return r.prepare({"method": "GET", "api": "query", "relative_url": path})


def export(r: Runner) -> object:
    return r.prepare(
        {"method": "GET", "api": "export", "relative_url": "",
         "query": {"from_date": "2024-01-01", "to_date": "2024-01-01"}}
    )  # fmt: skip


def budgets(tmp_path: Path, clock: FakeClock, **kw: object) -> tuple[Budgets, list[str]]:
    lines: list[str] = []
    b = Budgets(
        tmp_path / "budgets.json",
        env={},
        notify=lines.append,
        wall_clock=clock.wall,
        sleep=clock.sleep,
        **kw,  # type: ignore[arg-type]
    )
    return b, lines


def test_the_61st_query_of_an_hour_waits_until_the_first_leaves_the_window(tmp_path: Path) -> None:
    clock = FakeClock()
    b, lines = budgets(tmp_path, clock)
    req = query(runner())
    first = clock.wall()
    for _ in range(60):
        release = b(req, 300.0)
        assert release is not None
        release()
        clock.now += 10  # ten minutes for sixty queries
    assert clock.sleeps == []
    b(req, 7200.0)
    # It waited for the first query to be an hour old, and said so once, naming until when.
    assert clock.wall() >= first + 3600
    assert sum(clock.sleeps) == pytest.approx(first + 3600 - (first + 600), abs=1)
    assert len(lines) == 1
    assert lines[0].startswith("Query budget for project 4242 spent until ")
    assert time.strftime("%H:%M:%S", time.localtime(first + 3600)) in lines[0]


def test_no_wait_raises_at_once_naming_the_limit_project_and_time(tmp_path: Path) -> None:
    clock = FakeClock()
    b, _ = budgets(tmp_path, clock, wait=False)
    req = query(runner())
    for _ in range(60):
        release = b(req, 300.0)
        assert release is not None
        release()
    with pytest.raises(BudgetSpentError) as caught:
        b(req, 300.0)
    until = time.strftime("%H:%M:%S", time.localtime(clock.wall() + 3600))
    assert str(caught.value) == f"Query budget for project 4242 spent until {until}"
    assert caught.value.exit_status == ExitStatus.BUDGET_SPENT == 9
    assert (caught.value.limit, caught.value.project) == ("Query", "4242")
    assert clock.sleeps == []


def test_a_wait_past_the_calls_deadline_fails_without_waiting(tmp_path: Path) -> None:
    clock = FakeClock()
    b, _ = budgets(tmp_path, clock)
    req = query(runner())
    for _ in range(60):
        b(req, 300.0)()  # type: ignore[misc]
    with pytest.raises(BudgetSpentError, match="past this call's deadline"):
        b(req, 300.0)
    assert clock.sleeps == []


def test_five_queries_at_once_and_the_sixth_waits_for_one_to_end(tmp_path: Path) -> None:
    clock = FakeClock()
    b, _ = budgets(tmp_path, clock, wait=False)
    req = query(runner())
    held = [b(req, 300.0) for _ in range(5)]
    with pytest.raises(BudgetSpentError):
        b(req, 300.0)
    held[0]()  # type: ignore[misc]
    assert b(req, 300.0) is not None


def test_export_takes_three_a_second(tmp_path: Path) -> None:
    clock = FakeClock()
    b, _ = budgets(tmp_path, clock)
    req = export(runner())
    for _ in range(4):
        b(req, 300.0)()  # type: ignore[misc]
    assert sum(clock.sleeps) == pytest.approx(1.0, abs=0.02)


def test_ingestion_counts_uncompressed_bytes_of_a_gzip_body(tmp_path: Path) -> None:
    import dataclasses

    from mp_custom_action.bulk.budgets import uncompressed_size

    r = runner()
    req = r.prepare(
        {"method": "POST", "api": "ingestion", "relative_url": "/import",
         "body": [{"event": "e", "properties": {"time": 1, "distinct_id": "u"}}]}
    )  # fmt: skip
    raw = b'{"event":"e"}\n' * 10_000
    zipped = dataclasses.replace(
        req, body=gzip.compress(raw), headers={**req.headers, "Content-Encoding": "gzip"}
    )
    assert uncompressed_size(zipped) == len(raw)
    clock = FakeClock()
    b, _ = budgets(tmp_path, clock)
    assert b(zipped, 300.0) is None  # no limit on calls at once: nothing to release
    row = next(r for r in b.snapshot() if r["limit"] == "Ingestion")
    assert row["windows"][0]["used"] == len(raw)


def test_loopback_origins_are_not_counted_unless_mode_all(tmp_path: Path) -> None:
    clock = FakeClock()
    local = query(runner("http://127.0.0.1:9"))
    on, _ = budgets(tmp_path, clock)
    assert on.counts(local) == ()
    assert on(local, 300.0) is None
    assert not (tmp_path / "budgets.json").exists()  # the ledger was not even opened
    every, _ = budgets(tmp_path, clock, mode="all")
    assert [x.name for x in every.counts(local)] == ["Query"]
    off, _ = budgets(tmp_path, clock, mode="off")
    assert off.counts(query(runner())) == ()
    with pytest.raises(InputError, match="MP_BUDGETS"):
        Budgets(tmp_path / "x.json", env={"MP_BUDGETS": "sometimes"})


def test_the_ledger_is_shared_with_other_processes(tmp_path: Path) -> None:
    path = tmp_path / "budgets.json"
    code = (
        "import sys\n"
        "from mp_custom_action.bulk.budgets import Budgets\n"
        "from mp_custom_action.core.runner import Runner\n"
        "r = Runner(username='sa.user', secret='x', project_id=4242, env={})\n"
        "req = r.prepare({'method': 'GET', 'api': 'query', 'relative_url': '/2.0/events/names'})\n"
        "b = Budgets(sys.argv[1], env={}, wait=False)\n"
        "for _ in range(30):\n"
        "    b(req, 60.0)()\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(path)]) for _ in range(2)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    b = Budgets(path, env={}, wait=False)
    row = next(r for r in b.snapshot() if r["limit"] == "Query")
    assert row["windows"][0]["used"] == 60 and row["windows"][0]["left"] == 0
    with pytest.raises(BudgetSpentError):
        b(query(runner()), 60.0)


def test_a_dead_process_does_not_hold_a_call_in_flight(tmp_path: Path) -> None:
    clock = FakeClock()
    b, _ = budgets(tmp_path, clock, wait=False)
    req = query(runner())
    for _ in range(5):
        b(req, 300.0)  # never released: as if the process had been killed mid-call
    with pytest.raises(BudgetSpentError):
        b(req, 300.0)
    b.ledger = Ledger(b.ledger.path, pid_alive=lambda pid: False)
    assert b(req, 300.0) is not None
    # And a call in flight past its deadline no longer counts either.
    b.ledger = Ledger(b.ledger.path)
    clock.now += 301
    assert b(req, 300.0) is not None


def test_the_ledger_never_holds_a_credential(tmp_path: Path) -> None:
    clock = FakeClock()
    b, _ = budgets(tmp_path, clock)
    b(query(runner()), 300.0)
    text = (tmp_path / "budgets.json").read_text()
    assert SECRET not in text and "sa.user" not in text
    assert base64.b64encode(f"sa.user:{SECRET}".encode()).decode() not in text
    assert json.loads(text)["used"] == {"Query|4242": [[clock.wall(), 1]]}


def test_a_broken_ledger_starts_afresh(tmp_path: Path) -> None:
    (tmp_path / "budgets.json").write_text("{not json")
    clock = FakeClock()
    b, _ = budgets(tmp_path, clock)
    assert b(query(runner()), 300.0) is not None


def test_ledger_path_follows_the_environment(tmp_path: Path) -> None:
    assert ledger_path({"MP_BUDGETS_FILE": str(tmp_path / "l.json")}) == tmp_path / "l.json"
    assert ledger_path({"XDG_CACHE_HOME": str(tmp_path)}) == (
        tmp_path / "mp-custom-action" / "budgets.json"
    )
    assert ledger_path({"HOME": str(tmp_path)}) == (
        tmp_path / ".cache" / "mp-custom-action" / "budgets.json"
    )


# -- end to end: the runner and the CLI against the sandbox --------------------------------------


def _spend(path: Path, key: str, count: int) -> None:
    now = time.time()
    path.write_text(json.dumps({"version": 1, "used": {key: [[now, 1]] * count}, "running": {}}))


def test_the_runner_waits_for_its_budget_then_sends(tmp_path: Path) -> None:
    clock = FakeClock()
    with Sandbox() as sb:
        c = sb.credentials
        b, lines = budgets(tmp_path, clock, mode="all")
        with Runner(origin=sb.origin, env={}, pacer=b, **{k: c[k] for k in ("username", "secret", "project_id")}) as r:  # fmt: skip
            for _ in range(4):
                result = r.run({"method": "GET", "api": "export", "relative_url": "",
                                "query": {"from_date": "2024-01-01", "to_date": "2024-01-01"}})  # fmt: skip
                assert result.status_code == 200
        assert len(sb.requests) == 4
    assert sum(clock.sleeps) == pytest.approx(1.0, abs=0.02)
    assert lines == []  # a pace of 3 a second is not announced; a spent hour is (above)


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "budgets.json"
    monkeypatch.setenv("MP_BUDGETS_FILE", str(path))
    monkeypatch.setenv("MP_BUDGETS", "all")  # the sandbox is loopback: count it for this test
    return path


def test_cli_no_wait_is_exit_9_and_sends_nothing(
    ledger: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Sandbox() as sb:
        for name, value in sb.env().items():
            monkeypatch.setenv(name, value)
        project = sb.credentials["project_id"]
        _spend(ledger, f"Query|{project}", 60)
        out = cli("call", "GET", "query", "/2.0/events/names", "--origin", sb.origin, "--no-wait")
        assert out.exit_status == 9
        assert out.stderr.startswith(
            f"mp-custom-action: error: Query budget for project {project} spent until "
        )
        # Waiting is the default, but not past the deadline.
        out = cli(
            "call", "GET", "query", "/2.0/events/names", "--origin", sb.origin, "--timeout", "5"
        )
        assert out.exit_status == 9 and "past this call's deadline" in out.stderr
        assert len(sb.requests) == 0
        shown = cli("budgets", "--project", str(project))
        assert shown.exit_status == 0
        row = next(r for r in shown.json["budgets"] if r["limit"] == "Query")
        assert row["windows"][0] == {**row["windows"][0], "used": 60, "left": 0, "allowed": 60}
        assert shown.json["ledger"] == str(ledger) and shown.json["mode"] == "all"
        # Another API's budget is untouched.
        out = cli("call", "GET", "export", "", "--origin", sb.origin, "--no-wait",
                  "--query-param", "from_date=2024-01-01", "--query-param", "to_date=2024-01-01")  # fmt: skip
        assert out.exit_status == 0 and len(sb.requests) == 1


def test_budgets_command_rejects_a_bad_project(ledger: Path) -> None:
    out = cli("budgets", "--project", "abc")
    assert out.exit_status == 2 and "--project" in out.stderr
    assert not ledger.exists()


def test_tests_never_touch_the_real_user_cache() -> None:
    # conftest clears XDG_CACHE_HOME and points HOME at a temporary folder.
    assert "XDG_CACHE_HOME" not in os.environ
    assert str(ledger_path(os.environ)).startswith(os.environ["HOME"])

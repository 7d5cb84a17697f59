"""The Airflow leg's end-to-end run: the example DAG by ``airflow dags test`` against a sandbox.

Run by .ci/run with .venv-airflow's Python. It starts ``python -m mp_custom_action sandbox`` on a
free loopback port, seeds yesterday's events, makes a temporary AIRFLOW_HOME (SQLite), creates
the provider's pools, runs the DAG, and asserts on the task states and XComs it left in the
metadata database. Prints the figures: DAG wall time and the tasks run.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DAG_FILE = ROOT / "docs" / "examples" / "airflow" / "mixpanel_warehouse_export.py"
DAG_ID = "mixpanel_warehouse_export"
BIN = Path(sys.executable).parent
EVENTS_PER_HOUR = 2


def main() -> int:
    home = Path(tempfile.mkdtemp(prefix="airflow-leg-"))
    sandbox = subprocess.Popen(
        [sys.executable, "-m", "mp_custom_action", "sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert sandbox.stdout is not None
        info = json.loads(sandbox.stdout.readline())  # the sandbox's first line: its origin
        return run(home, info)
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=30)
        shutil.rmtree(home, ignore_errors=True)


def run(home: Path, info: dict) -> int:
    today = dt.datetime.now(dt.timezone.utc).date()
    yesterday = today - dt.timedelta(days=1)
    seed(info, yesterday)
    (home / "dags").mkdir()
    shutil.copy(DAG_FILE, home / "dags" / DAG_FILE.name)
    output_dir = home / "export"
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW_CONN_MIXPANEL_DEFAULT": json.dumps(
            {
                "conn_type": "mixpanel",
                "login": info["username"],
                "password": info["secret"],
                "extra": {"project_id": info["project_id"], "origin": info["origin"]},
            }
        ),
    }
    airflow = str(BIN / "airflow")
    subprocess.run(
        [airflow, "db", "migrate"], env=env, check=True, capture_output=True, timeout=300
    )
    pools = home / "pools.json"
    from mp_custom_action.integrations.airflow.pools import pools_json

    pools.write_text(pools_json(), encoding="utf-8")
    subprocess.run([airflow, "pools", "import", str(pools)], env=env, check=True, timeout=120)
    conf = json.dumps({"output_dir": str(output_dir)})
    started = time.monotonic()
    test = subprocess.run(
        [airflow, "dags", "test", DAG_ID, today.isoformat(), "--conf", conf],
        env=env,
        capture_output=True,
        text=True,
        timeout=480,
    )
    wall = time.monotonic() - started
    log = test.stdout + test.stderr
    (ROOT / ".venv-airflow" / "example-dag.log").write_text(log, encoding="utf-8")
    states, xcoms = read_run(env)
    print(f"airflow dags test {DAG_ID}: exit {test.returncode}, {wall:.1f} s wall time")
    for name, state in sorted(states.items()):
        print(f"  {name}: {state}")
    problems = check(states, xcoms, output_dir / today.isoformat(), yesterday, info, log)
    for problem in problems:
        print(f"FAILED: {problem}")
    if problems:
        print("the DAG's log is in .venv-airflow/example-dag.log; its last lines:")
        print("\n".join(log.splitlines()[-40:]))
        return 1
    print(
        f"example DAG: {len(states)} task instances run ({', '.join(sorted(states))}), {wall:.1f} s"
    )
    return 0


def seed(info: dict, day: dt.date) -> None:
    """Two events an hour of ``day``, through the sandbox's /import."""
    import mp_custom_action

    start = int(dt.datetime.combine(day, dt.time(0), dt.timezone.utc).timestamp())
    events = [
        {
            "event": "Purchase",
            "properties": {
                "time": start + hour * 3600 + n * 60,
                "distinct_id": f"user-{n}",
                "$insert_id": f"seed-{hour:02d}-{n}",
            },
        }
        for hour in range(24)
        for n in range(EVENTS_PER_HOUR)
    ]
    result = mp_custom_action.run(
        {"method": "POST", "api": "ingestion", "relative_url": "/import", "body": events},
        origin=info["origin"],
        username=info["username"],
        secret=info["secret"],
        project_id=info["project_id"],
        env={},
    )
    assert result.status_code == 200, result.body


def read_run(env: dict) -> tuple[dict, dict]:
    os.environ.update({k: v for k, v in env.items() if k.startswith("AIRFLOW")})
    from airflow.models.dagrun import DagRun
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    states, xcoms = {}, {}
    with create_session() as session:
        runs = session.query(DagRun).filter_by(dag_id=DAG_ID).all()
        if not runs:
            return states, xcoms
        dagrun = runs[-1]
        for ti in dagrun.get_task_instances(session=session):
            states[_name(ti.task_id, ti.map_index)] = str(ti.state)
        for x in session.query(XComModel).filter_by(dag_id=DAG_ID, run_id=dagrun.run_id):
            if x.key == "return_value":
                xcoms[_name(x.task_id, x.map_index)] = XComModel.deserialize_value(x)
    return states, xcoms


def _name(task_id: str, map_index: int) -> str:
    return task_id + (f"[{map_index}]" if map_index >= 0 else "")


def check(states: dict, xcoms: dict, out: Path, day: dt.date, info: dict, log: str) -> list[str]:
    problems = []
    expected = [
        "create_import",
        "export_yesterday[0]",
        "trigger_sync",
        "wait_for_sync",
        "yesterday",
    ]
    if sorted(states) != expected:
        problems.append(f"tasks {sorted(states)}, expected {expected}")
    states = dict(states)
    export_state = states.pop("export_yesterday[0]", None)
    problems += [f"{t} is {s}" for t, s in states.items() if s != "success"]
    source = (xcoms.get("create_import") or {}).get("body") or {}
    run = (xcoms.get("trigger_sync") or {}).get("body") or {}
    waited = xcoms.get("wait_for_sync") or {}
    if not source.get("id") or source.get("status") != "active":
        problems.append(f"create_import XCom: {xcoms.get('create_import')}")
    if run.get("status") != "running" or not run.get("id"):
        problems.append(f"trigger_sync XCom: {xcoms.get('trigger_sync')}")
    if waited.get("id") != run.get("id") or waited.get("status") != "completed":
        problems.append(f"wait_for_sync XCom: {waited}")
    windows = [{"from_date": day.isoformat(), "to_date": day.isoformat()}]
    if xcoms.get("yesterday") != windows:
        problems.append(f"yesterday XCom: {xcoms.get('yesterday')}, expected {windows}")
    for secret in (info["secret"], info["api_secret"]):
        if secret in log or secret in json.dumps(xcoms):
            problems.append("a secret appears in the DAG's log or XComs")
    if export_state != "success":
        problems.append(f"export_yesterday[0] is {export_state}")
    if not isinstance(xcoms.get("export_yesterday[0]"), dict):
        problems.append(f"export_yesterday[0] XCom: {xcoms.get('export_yesterday[0]')}")
    exported = [
        json.loads(line)
        for f in sorted(out.rglob("*.jsonl"))
        for line in f.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    if len(exported) != 24 * EVENTS_PER_HOUR:
        problems.append(
            f"{len(exported)} events exported under {out}, expected {24 * EVENTS_PER_HOUR}"
        )
    return problems


if __name__ == "__main__":
    sys.exit(main())

"""Tests of the Airflow provider with a real Airflow: they run where Airflow imports.

The main suite (no Airflow installed) does not collect them. The Airflow CI leg sets
``MP_REQUIRE_AIRFLOW=1``: there, an Airflow that cannot be imported is an error, not a reason to
collect nothing. Airflow reads its configuration when first imported, so its home (SQLite
metadata database, DAG folder) is set to a temporary directory here, before anything imports it.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

_HOME = Path(tempfile.mkdtemp(prefix="mp-airflow-home-"))
_DAGS = _HOME / "dags"


def _airflow_importable() -> str:
    """'' when Airflow imports, else why not."""
    if importlib.util.find_spec("airflow") is None:
        return "Airflow is not installed"
    os.environ["AIRFLOW_HOME"] = str(_HOME)
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(_DAGS)
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")
    _DAGS.mkdir(parents=True, exist_ok=True)
    try:
        import airflow.sdk  # noqa: F401
    except Exception as exc:  # any failure to start Airflow is a reason
        return f"Airflow does not import: {type(exc).__name__}: {exc}"
    return ""


_WHY_NOT = _airflow_importable()
if _WHY_NOT:
    if os.environ.get("MP_REQUIRE_AIRFLOW") == "1":
        raise RuntimeError(f"MP_REQUIRE_AIRFLOW=1 but {_WHY_NOT}")
    collect_ignore_glob = ["test_*.py"]
    shutil.rmtree(_HOME, ignore_errors=True)


def _airflow_cli() -> Path:
    return Path(sys.executable).with_name("airflow")


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated SQLite metadata database in the temporary AIRFLOW_HOME."""
    subprocess.run(
        [str(_airflow_cli()), "db", "migrate"],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return _HOME


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A loopback sandbox and a ``mixpanel_default`` connection to it (as an env variable)."""
    from mp_custom_action.sandbox import Sandbox

    with Sandbox() as sb:
        monkeypatch.setenv("AIRFLOW_CONN_MIXPANEL_DEFAULT", connection_json(sb))
        yield sb


def connection_json(sb: Any, **extra: Any) -> str:
    c = sb.credentials
    return json.dumps(
        {
            "conn_type": "mixpanel",
            "login": c["username"],
            "password": c["secret"],
            "extra": {"project_id": c["project_id"], "origin": sb.origin, **extra},
        }
    )


#: A day of seeded events for the bulk tests, and events on it (or days after it).
DAY = dt.date(2026, 11, 2)


def events_on(day_offset: int, count: int) -> list[dict[str, Any]]:
    start = (
        int(dt.datetime.combine(DAY, dt.time(0), dt.timezone.utc).timestamp()) + day_offset * 86400
    )
    return [
        {
            "event": "Purchase",
            "properties": {
                "time": start + i * 1800,
                "distinct_id": f"u{i}",
                "$insert_id": f"d{day_offset}-{i}",
            },
        }
        for i in range(count)
    ]


@dataclass
class DagOutcome:
    state: str
    states: dict[str, str] = field(default_factory=dict)
    xcoms: dict[str, Any] = field(default_factory=dict)
    rendered: dict[str, Any] = field(default_factory=dict)


def run_dag(body: str, **run: Any) -> DagOutcome:
    """Run the DAG ``dag`` that ``body`` (the code inside ``with DAG(...) as dag:``) defines.

    The file goes to the DAG folder (``dag.test()`` reads the DAG from there), runs with
    ``dag.test()`` in this process, and is removed. Task ids of mapped tasks get ``[i]``.
    """
    dag_id = f"t_{uuid.uuid4().hex[:10]}"
    source = (
        "import pendulum\n"
        "from airflow.sdk import DAG\n"
        "from mp_custom_action.integrations.airflow.operators import *\n"
        "from mp_custom_action.integrations.airflow.sensors import *\n"
        "from mp_custom_action.integrations.airflow.bulk import *\n"
        f"with DAG({dag_id!r}, schedule=None, start_date=pendulum.datetime(2026, 1, 1)) as dag:\n"
        + textwrap.indent(textwrap.dedent(body), "    ")
    )
    path = _DAGS / f"{dag_id}.py"
    path.write_text(source, encoding="utf-8")
    try:
        spec = importlib.util.spec_from_file_location(dag_id, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        dagrun = module.dag.test(**run)
        return _outcome(dag_id, dagrun)
    finally:
        path.unlink()


def _outcome(dag_id: str, dagrun: Any) -> DagOutcome:
    from airflow.models.renderedtifields import RenderedTaskInstanceFields as Rtif
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    out = DagOutcome(state=str(dagrun.state))
    with create_session() as session:
        for ti in dagrun.get_task_instances(session=session):
            name = ti.task_id + (f"[{ti.map_index}]" if ti.map_index >= 0 else "")
            out.states[name] = str(ti.state)
        query = session.query(XComModel).filter_by(dag_id=dag_id, run_id=dagrun.run_id)
        for x in query.filter_by(key="return_value"):
            name = x.task_id + (f"[{x.map_index}]" if x.map_index >= 0 else "")
            out.xcoms[name] = XComModel.deserialize_value(x)
        for r in session.query(Rtif).filter_by(dag_id=dag_id, run_id=dagrun.run_id):
            out.rendered[r.task_id + (f"[{r.map_index}]" if r.map_index >= 0 else "")] = (
                r.rendered_fields
            )
    return out


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Airflow's own stack warns inside ``dag.test()`` (starlette's test client, pydantic...).

    The suite turns warnings into errors; here they are shown instead, since they come from
    Airflow's dependencies, not from us. Our own warnings (MpWarning) are still errors.
    """
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.filterwarnings("error::mp_custom_action.errors.MpWarning"))
            item.add_marker(pytest.mark.filterwarnings("default::Warning"))

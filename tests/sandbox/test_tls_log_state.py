"""HTTPS with a throwaway CA, the request log on stderr, a bounded history, unsaved state undone."""

from __future__ import annotations

import io
import json
import os
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from sandbox_helpers import event, pid, sa, secret

from mp_custom_action.sandbox import Sandbox
from mp_custom_action.sandbox.recorder import RequestLog, log_line

T = 10


class Served:
    """A ``mp-custom-action sandbox`` subprocess and the JSON line it printed."""

    def __init__(self, *args: str, before: tuple[str, ...] = ()) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mp_custom_action", *before, "sandbox", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.first_line = self.proc.stdout.readline()

    def finish(self) -> tuple[int, str]:
        self.proc.terminate()
        _out, err = self.proc.communicate(timeout=10)
        return self.proc.returncode, err

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate(timeout=10)


# -- HTTPS ----------------------------------------------------------------------------------------


def test_tls_serves_https_that_verifies_with_the_printed_ca_only(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    with Sandbox(tls=True, ca_file=ca) as sb:
        assert sb.origin.startswith("https://127.0.0.1:")
        assert sb.info()["ca_file"] == str(ca.resolve()) and sb.ca_file == str(ca.resolve())
        assert ca.read_text().startswith("-----BEGIN CERTIFICATE-----")
        assert "PRIVATE KEY" not in ca.read_text()
        answer = requests.get(sb.origin + "/", verify=str(ca), timeout=T)
        assert answer.json()["sandbox"] == "mp-custom-action"
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(sb.origin + "/", timeout=T)  # not trusted without the CA
        localhost = sb.origin.replace("127.0.0.1", "localhost")
        assert requests.get(localhost + "/", verify=str(ca), timeout=T).status_code == 200


def test_plain_http_to_the_https_port_is_told_to_use_https(tmp_path: Path) -> None:
    with Sandbox(tls=True, ca_file=tmp_path / "ca.pem") as sb:
        answer = requests.get(sb.origin.replace("https://", "http://") + "/import", timeout=T)
        assert answer.status_code == 400
        assert answer.json()["error"].startswith(f"This sandbox serves HTTPS: use {sb.origin}")
        with requests.Session() as kept:  # a kept-alive HTTPS connection does not delay stop()
            kept.get(sb.origin + "/", verify=str(tmp_path / "ca.pem"), timeout=T)
            sb.stop(timeout=5)
            assert not sb.running


def test_the_ca_file_of_a_temporary_folder_goes_when_the_sandbox_stops() -> None:
    with Sandbox(tls=True) as sb:
        ca = Path(str(sb.ca_file))
        assert ca.is_file()
    assert not ca.exists() and not ca.parent.exists()


def test_a_tls_client_that_never_finishes_its_handshake_holds_up_no_other(tmp_path: Path) -> None:
    import socket

    with Sandbox(tls=True, ca_file=tmp_path / "ca.pem") as sb:
        port = int(sb.origin.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=T):
            answer = requests.get(sb.origin + "/", verify=str(tmp_path / "ca.pem"), timeout=T)
            assert answer.status_code == 200


def test_the_cli_prints_the_ca_file_first_and_curl_style_clients_trust_it(tmp_path: Path) -> None:
    ca = tmp_path / "sandbox-ca.pem"
    served = Served("--tls", "--ca-file", str(ca), "--quiet")
    try:
        info = json.loads(served.first_line)
        assert info["origin"].startswith("https://") and info["ca_file"] == str(ca.resolve())
        context = ssl.create_default_context(cafile=info["ca_file"])
        import urllib.request

        with urllib.request.urlopen(info["origin"] + "/", context=context, timeout=T) as reply:
            assert json.loads(reply.read())["project_id"] == info["project_id"]
    finally:
        served.close()


CALL = [sys.executable, "-m", "mp_custom_action", "call", "GET", "query", "/query/events/names"]


def test_sandbox_tls_on_a_call_trusts_the_throwaway_ca_for_that_call_only() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
    done = subprocess.run(
        [*CALL, "--sandbox", "--tls"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["body"] == []
    refused = subprocess.run(
        [
            sys.executable,
            "-m",
            "mp_custom_action",
            "call",
            "GET",
            "query",
            "/events/names",
            "--tls",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2 and "--tls is only used with --sandbox" in refused.stderr


# -- the request log ------------------------------------------------------------------------------


def test_one_log_line_per_request_with_no_secret_and_no_query_value() -> None:
    stream = io.StringIO()
    with Sandbox(log=stream) as sb:
        c = sb.credentials
        requests.get(
            sb.origin + "/api/query/events/names",
            params={**pid(sb), "where": c["secret"]},
            headers=sa(sb),
            timeout=T,
        )
        requests.get(sb.origin + "/api/2.0/events/names", headers=secret(sb), timeout=T)
        requests.get(sb.origin + "/api/2.0/events/names", auth=("x", "y"), timeout=T)
        requests.post(sb.origin + "/import", json=[], headers=sa(sb), timeout=T)
        record = {"event": "e", "properties": {"token": "wrong"}}
        requests.post(sb.origin + "/track", json=[record], timeout=T)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 5
    first = lines[0].split(" ")
    assert first[1:4] == ["GET", "/api/query/events/names?project_id&where", "200"]
    assert first[0].endswith("Z") and first[4].endswith("ms") and first[5] == "service_account"
    assert lines[1].endswith(" 200 " + lines[1].split(" ")[4] + " secret")
    assert lines[2].endswith("refused: invalid credentials")
    assert lines[3].endswith("refused: service_account without project_id")
    assert lines[4].endswith("refused: invalid token")
    text = stream.getvalue()
    for value in c.values():
        if isinstance(value, str):
            assert value not in text


def test_the_cli_logs_requests_on_stderr_unless_quiet() -> None:
    cases: list[tuple[tuple[str, ...], tuple[str, ...], int]] = [
        ((), ("--seed", "1"), 1),
        ((), ("--quiet",), 0),
        (("-q",), (), 0),  # the global -q, before the command
    ]
    for before, args, expect_lines in cases:
        served = Served(*args, before=before)
        try:
            origin = json.loads(served.first_line)["origin"]
            requests.get(origin + "/api/2.0/events/names", timeout=T)
            status, err = served.finish()
        finally:
            served.close()
        logged = [line for line in err.splitlines() if " /api/2.0/events/names " in line]
        assert status == 0 and len(logged) == expect_lines
        if logged:
            assert logged[0].split(" ")[3] == "401" and "refused: no credentials" in logged[0]


def test_the_history_is_bounded_and_keeps_the_newest() -> None:
    with Sandbox(history=5) as sb, requests.Session() as http:
        for n in range(12):
            http.get(f"{sb.origin}/n{n}", timeout=T)
        assert len(sb.requests) == 5 and sb.requests.total == 12
        assert [r.path for r in sb.requests] == [f"/n{n}" for n in range(7, 12)]
        assert [r.path for r in sb.requests[-2:]] == ["/n10", "/n11"]
    with pytest.raises(ValueError, match="at least 1"):
        RequestLog(0)


def test_log_line_shows_names_of_query_parameters_only() -> None:
    from mp_custom_action.sandbox import RequestRecord

    record = RequestRecord("GET", "/x", (("a", "1"), ("b", "s3cret"), ("a", "2")), {}, 0, 200, 0.0)
    assert log_line(record) == "1970-01-01T00:00:00.000Z GET /x?a&b 200 0.0ms"


# -- a change that cannot be saved is not kept ----------------------------------------------------


def test_a_change_that_cannot_be_saved_is_undone_and_a_503(tmp_path: Path) -> None:
    """It was a 500 that kept the change in memory: a client's retry stored a duplicate."""
    folder = tmp_path / "state"
    folder.mkdir()
    path = folder / "s.json"
    with Sandbox(state_file=path) as sb:
        ok = requests.post(
            sb.origin + "/import", json=[event("e", "i1")], headers=secret(sb), timeout=T
        )
        assert ok.status_code == 200
        saved_text = path.read_text()
        path.unlink()
        path.mkdir()  # the next save cannot replace a folder holding a file, not even as root
        (path / "keep").write_text("x")
        failed = requests.post(
            sb.origin + "/import", json=[event("e", "i2")], headers=secret(sb), timeout=T
        )
        assert failed.status_code == 503
        assert "nothing was stored" in failed.json()["error"]
        assert [e["properties"]["$insert_id"] for e in sb.state.events()] == ["i1"]
        (path / "keep").unlink()
        path.rmdir()
        path.write_text(saved_text)
        assert list(folder.iterdir()) == [path]  # no temporary file left behind
        retried = requests.post(
            sb.origin + "/import", json=[event("e", "i3")], headers=secret(sb), timeout=T
        )
        assert retried.status_code == 200
    saved = json.loads((folder / "s.json").read_text())
    assert [e["properties"]["$insert_id"] for e in saved["events"]] == ["i1", "i3"]

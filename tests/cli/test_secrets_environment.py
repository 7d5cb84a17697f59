"""The environment cannot move a credential: no ~/.netrc, and a proxy's password stays with it.

These talk to "https://mixpanel.com" for real, over TLS, through an authenticating forward proxy,
without leaving the machine: the proxy (tests/faults_servers.py) answers ``CONNECT`` and tunnels
to a local HTTPS server presenting a certificate for mixpanel.com from a throwaway CA, which the
runner trusts through ``REQUESTS_CA_BUNDLE``. Plain-http proxying (absolute-form requests) cannot
be reached: Mixpanel is https only, and plain http is allowed only for loopback origins, which
never use a proxy; docs/security.md says so.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from cli_helpers import cli
from faults_servers import (
    ConnectProxy,
    TlsFiles,
    TlsServer,
    make_tls_files,
    openssl_available,
)
from hostile import CREDENTIALS, assert_no_leak, exception_texts, leaks, secret_forms
from loopback import Reply

from mp_custom_action import Runner
from mp_custom_action.errors import ConnectError

PROXY_USER, PROXY_PASSWORD = "proxy-user", "QZXVproxy-pass+/="
PROXY_AUTH = "Basic " + base64.b64encode(f"{PROXY_USER}:{PROXY_PASSWORD}".encode()).decode()
PROXY_FORMS = secret_forms(
    {
        "username": PROXY_USER,
        "secret": PROXY_PASSWORD,
        "api_secret": PROXY_PASSWORD,
        "token": PROXY_PASSWORD,
    }
)
GET_NAMES = {"method": "GET", "api": "query", "relative_url": "/2.0/events/names"}
TRACK = {"method": "POST", "api": "ingestion", "relative_url": "/track", "body": [{"event": "e"}]}


def basic(user: str, password: str = "") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    if not openssl_available():
        pytest.skip("needs the openssl command")
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def mixpanel(tls_files: TlsFiles) -> Iterator[TlsServer]:
    srv = TlsServer(tls_files)
    srv.handler = lambda req: Reply.json(["Signed up"])  # never echo: the output is scanned
    with srv:
        yield srv


def make_proxy(mixpanel: TlsServer, expected: str | None) -> ConnectProxy:
    proxy = ConnectProxy(("127.0.0.1", mixpanel.port), expected)
    proxy.start()
    return proxy


@pytest.fixture
def proxy(mixpanel: TlsServer) -> Iterator[ConnectProxy]:
    p = make_proxy(mixpanel, PROXY_AUTH)
    try:
        yield p
    finally:
        p.stop()


def proxy_env(
    proxy: ConnectProxy, tls_files: TlsFiles, *, password: str = PROXY_PASSWORD
) -> dict[str, str]:
    return {
        # A password's "/", "+" and "=" are percent-encoded in a URL, as curl and requests expect.
        "HTTPS_PROXY": f"http://{PROXY_USER}:{quote(password, safe='')}@127.0.0.1:{proxy.port}",
        "REQUESTS_CA_BUNDLE": str(tls_files.ca),
    }


def assert_no_proxy_password(*texts: Any) -> None:
    for text in texts:
        found = leaks(text, PROXY_FORMS)
        assert not found, f"proxy credential ({found}) in {str(text)[:300]!r}"


def test_proxy_credentials_go_to_the_proxy_and_ours_only_through_the_tunnel(
    proxy: ConnectProxy, mixpanel: TlsServer, tls_files: TlsFiles
) -> None:
    with Runner(**CREDENTIALS, env=proxy_env(proxy, tls_files), retries=0) as runner:
        result = runner.run(GET_NAMES)
    assert result.status_code == 200
    assert result.url.startswith("https://mixpanel.com/api/2.0/events/names?")
    # The proxy saw one CONNECT, with its own credentials and nothing of ours.
    assert [line.rsplit(" ", 1)[0] for line, _ in proxy.connects] == ["CONNECT mixpanel.com:443"]
    connect_headers = proxy.connects[0][1]
    assert connect_headers.get("Proxy-Authorization") == PROXY_AUTH
    assert "Authorization" not in connect_headers
    assert_no_leak(*proxy.before_tunnel)
    # Mixpanel (the far end of the tunnel) saw our credential and nothing of the proxy's.
    [sent] = mixpanel.received
    assert sent.header("Authorization") == basic(CREDENTIALS["username"], CREDENTIALS["secret"])
    assert sent.header("Proxy-Authorization") is None
    assert sent.header("Host") == "mixpanel.com"
    assert_no_proxy_password(sent.target, sent.headers, sent.body)


def test_a_proxy_refusing_its_credentials_is_one_connect_error_naming_neither_password(
    mixpanel: TlsServer, tls_files: TlsFiles
) -> None:
    proxy = make_proxy(mixpanel, PROXY_AUTH)
    try:
        env = proxy_env(proxy, tls_files, password="QZXVwrong-proxy-pass")
        with Runner(**CREDENTIALS, env=env, retries=1, sleep=lambda s: None) as runner:
            with pytest.raises(ConnectError) as info:
                runner.run(GET_NAMES)
    finally:
        proxy.stop()
    assert info.value.attempts == 2, "a proxy refusal is a connect error: nothing was sent"
    assert mixpanel.received == []
    wrong = secret_forms({"username": PROXY_USER, "secret": "QZXVwrong-proxy-pass",
                          "api_secret": "QZXVwrong-proxy-pass", "token": "QZXVwrong-proxy-pass"})  # fmt: skip
    for text in exception_texts(info.value):
        assert_no_leak(text)
        assert_no_leak(text, forms=wrong)


def test_the_command_through_the_proxy_with_debug_logging_prints_no_password(
    proxy: ConnectProxy,
    mixpanel: TlsServer,
    tls_files: TlsFiles,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    for name, var in (
        ("username", "MP_USERNAME"),
        ("secret", "MP_SECRET"),
        ("project_id", "MP_PROJECT_ID"),
    ):
        monkeypatch.setenv(var, CREDENTIALS[name])
    for name, value in proxy_env(proxy, tls_files).items():
        monkeypatch.setenv(name, value)
    caplog.set_level(logging.DEBUG)
    out = cli("-vv", "call", "GET", "query", "/2.0/events/names")
    assert out.exit_status == 0, out.stderr
    assert out.json["status_code"] == 200
    assert len(mixpanel.received) == 1
    logged = [r.getMessage() for r in caplog.records]
    assert any("mixpanel.com" in line for line in logged), "urllib3 logged the connection"
    assert_no_leak(out.stdout, out.stderr, *logged)
    assert_no_proxy_password(out.stdout, out.stderr, *logged)


# -- ~/.netrc ------------------------------------------------------------------------------------------


@pytest.fixture
def netrc_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    netrc = tmp_path / ".netrc"
    netrc.write_text(
        "machine mixpanel.com login stolen-user password QZXVnetrc-pass\n"
        "machine api.mixpanel.com login stolen-user password QZXVnetrc-pass\n"
        "machine 127.0.0.1 login stolen-proxy password QZXVnetrc-pass\n"
        "default login stolen-default password QZXVnetrc-pass\n"
    )
    netrc.chmod(0o600)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NETRC", str(netrc))
    return netrc


@pytest.mark.parametrize("inputs", [GET_NAMES, TRACK], ids=["service account", "token in the data"])
def test_netrc_is_never_read_for_mixpanel_or_for_the_proxy(
    netrc_home: Path, mixpanel: TlsServer, tls_files: TlsFiles, inputs: dict[str, Any]
) -> None:
    proxy = make_proxy(mixpanel, expected=None)
    try:
        env = {
            "HTTPS_PROXY": f"http://127.0.0.1:{proxy.port}",
            "REQUESTS_CA_BUNDLE": str(tls_files.ca),
            "HOME": str(netrc_home.parent),
            "NETRC": str(netrc_home),
        }
        with Runner(**CREDENTIALS, env=env, retries=0) as runner:
            assert runner.run(inputs).status_code == 200
    finally:
        proxy.stop()
    assert "Proxy-Authorization" not in proxy.connects[0][1], "no proxy password from .netrc"
    [sent] = mixpanel.received
    expected = None if inputs is TRACK else basic(CREDENTIALS["username"], CREDENTIALS["secret"])
    assert sent.header("Authorization") == expected
    netrc_forms = {
        "QZXVnetrc-pass": "netrc password",
        base64.b64encode(b"stolen-user:QZXVnetrc-pass").decode(): "netrc pair",
    }
    assert_no_leak(sent.target, sent.headers, sent.body, *proxy.before_tunnel, forms=netrc_forms)


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "https_proxy", "ALL_PROXY"])
def test_a_malformed_proxy_url_is_a_config_error_that_does_not_quote_it(variable: str) -> None:
    """Found by this suite: a proxy password holding a raw "/" made urllib3 fail to parse the
    proxy URL; that surfaced as "broken response from https://mixpanel.com/..." (exit 6, and a
    GET was retried), with the whole URL, password included, in the exception's context."""
    from mp_custom_action.errors import ConfigError

    env = {variable: f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:3128"}
    with Runner(**CREDENTIALS, env=env, retries=3) as runner:
        with pytest.raises(ConfigError, match="is not a valid proxy URL") as info:
            runner.run(GET_NAMES)
    assert info.value.field == variable.upper()
    assert info.value.__context__ is None
    for text in exception_texts(info.value):
        assert_no_leak(text)
        assert_no_proxy_password(text)

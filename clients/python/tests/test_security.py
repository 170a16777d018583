"""TLS, mutual TLS and bearer tokens (ClientOptions) against servers started with --tls-cert, --tls-client-ca
and --token-file. Certificates are made at run time with the openssl command, as tests/integration does."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from typing import Any, Dict, Iterator, List

import pytest

import stepflow
from server import Server
from stepflow import errors
from stepflow.aio import AsyncClient

TOKENS = {"reader": "secret-reader-1", "admin": "secret-admin-1", "worker": "secret-worker-1"}
PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


@pytest.fixture
def certs(tmp_path: "os.PathLike[str]") -> str:
    d = str(tmp_path)
    key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
    script = f"""set -e; cd '{d}'
openssl req -x509 {key} -keyout ca.key -out ca.pem -days 2 -subj /CN=stepflow-test-ca
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > san.ext
openssl req {key} -keyout server.key -out server.csr -subj /CN=localhost
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile san.ext
openssl req {key} -keyout client.key -out client.csr -subj /CN=worker-7
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2
"""
    subprocess.run(["sh", "-c", script], check=True, capture_output=True)
    return d


def token_file(directory: str) -> str:
    entries: List[Any] = []
    for role, secret in TOKENS.items():
        entry: Dict[str, Any] = {"name": f"{role}-token", "sha256": hashlib.sha256(secret.encode()).hexdigest(), "role": role}
        if role == "worker":
            entry["queues"] = ["q1"]
        entries.append(entry)
    path = os.path.join(directory, "tokens.json")
    with open(path, "w") as f:
        json.dump({"tokens": entries}, f)
    return path


@pytest.fixture
def servers() -> Iterator[List[Server]]:
    started: List[Server] = []
    yield started
    for s in started:
        print("---- server log ----\n" + s.log())
        if s.process is not None:
            s.stop()


def start(servers: List[Server], binary: str, directory: str, extra: List[str]) -> Server:
    s = Server(binary, directory, extra)
    s.start()
    servers.append(s)
    return s


def test_tls_and_mutual_tls(binary: str, certs: str, servers: List[Server]) -> None:
    def p(name: str) -> str:
        return os.path.join(certs, name)

    tls = ["--tls-cert", p("server.pem"), "--tls-key", p("server.key")]
    s = start(servers, binary, os.path.join(certs, "tls"), tls)
    with stepflow.Client.connect(s.address, options=stepflow.ClientOptions(ca_cert=p("ca.pem"))) as c:
        assert c.create_state_machine("over-tls", PASS).name == "over-tls"
    with pytest.raises(errors.ServiceUnavailable):
        stepflow.Client.connect(s.address, timeout=1)  # plaintext to a TLS port
    with pytest.raises(errors.ServiceUnavailable):
        stepflow.Client.connect(s.address, timeout=1, options=stepflow.ClientOptions(tls=True))  # unknown CA
    with pytest.raises(errors.InvalidArgument):
        stepflow.Client(s.address, stepflow.ClientOptions(ca_cert=p("no-such-file.pem")))
    with pytest.raises(errors.InvalidArgument):
        stepflow.Client(s.address, stepflow.ClientOptions(ca_cert=p("ca.pem"), client_cert=p("client.pem")))

    m = start(servers, binary, os.path.join(certs, "mtls"), tls + ["--tls-client-ca", p("ca.pem")])
    mutual = stepflow.ClientOptions(ca_cert=p("ca.pem"), client_cert=p("client.pem"), client_key=p("client.key"))
    with stepflow.Client.connect(m.address, options=mutual) as c:
        assert c.validate_definition(PASS).valid
    with stepflow.Client(m.address, stepflow.ClientOptions(ca_cert=p("ca.pem"))) as c:
        with pytest.raises(stepflow.StepflowError):  # no client certificate: the handshake fails
            c.validate_definition(PASS)


def test_bearer_tokens_and_roles(binary: str, tmp_path: "os.PathLike[str]", servers: List[Server],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    d = str(tmp_path)
    s = start(servers, binary, d, ["--token-file", token_file(d)])
    with stepflow.Client.connect(s.address) as anonymous:
        with pytest.raises(errors.UnrecognizedClientException):
            anonymous.list_state_machines_page()
    with stepflow.Client.connect(s.address, options=stepflow.ClientOptions(token="wrong")) as forged:
        with pytest.raises(errors.UnrecognizedClientException):
            forged.list_state_machines_page()
    monkeypatch.setenv("STEPFLOW_TOKEN", TOKENS["admin"])
    admin_options = stepflow.ClientOptions().with_environment()
    assert admin_options.token == TOKENS["admin"]
    with stepflow.Client.connect(s.address, options=admin_options) as admin:
        admin.create_state_machine("secured", PASS)
    with stepflow.Client.connect(s.address, options=stepflow.ClientOptions(token=TOKENS["reader"])) as reader:
        assert [m.name for m in reader.list_state_machines()] == ["secured"]
        with pytest.raises(errors.AccessDeniedException):
            reader.start_execution("secured", {})
    with stepflow.Client.connect(s.address, options=stepflow.ClientOptions(token=TOKENS["worker"])) as worker:
        assert worker.poll_task("q1", wait_seconds=1) is None
        with pytest.raises(errors.AccessDeniedException):
            worker.poll_task("q2", wait_seconds=1)
    monkeypatch.setenv("STEPFLOW_TLS", "maybe")
    with pytest.raises(errors.InvalidArgument):
        stepflow.ClientOptions().with_environment()

    async def async_reader() -> List[str]:
        async with AsyncClient(s.address, stepflow.ClientOptions(token=TOKENS["reader"])) as c:
            return [m.name async for m in c.list_state_machines()]

    import asyncio
    assert asyncio.run(async_reader()) == ["secured"]

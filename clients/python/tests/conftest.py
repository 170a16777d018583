"""Fixtures of the Python SDK tests: the server binary comes from $STEPFLOW_BINARY (CTest sets it)."""

from __future__ import annotations

import os
import signal
from typing import Iterator

import pytest

import stepflow
from server import Server


@pytest.fixture
def binary() -> str:
    path = os.environ.get("STEPFLOW_BINARY", "")
    if not path or not os.access(path, os.X_OK):
        pytest.fail("set STEPFLOW_BINARY to the stepflow binary")
    return path


@pytest.fixture
def server(binary: str, tmp_path: "os.PathLike[str]") -> Iterator[Server]:
    s = Server(binary, str(tmp_path))
    s.start()
    yield s
    # pytest shows what a test printed only when it failed: the server's log then.
    print("---- server log ----\n" + s.log())
    if s.process is not None:
        assert s.stop(signal.SIGTERM) == 0, s.log()


@pytest.fixture
def client(server: Server) -> Iterator[stepflow.Client]:
    c = stepflow.Client.connect(server.address, timeout=10)
    yield c
    c.close()

"""The real `stepflow server` for the SDK tests: started on 127.0.0.1 (port 0, or a fixed free port for the
restart tests) with a temp data directory, stopped with SIGTERM. Its log goes to a file that a failing test
prints."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import time
from typing import Callable, List, Optional

LISTENING = "stepflow server listening on "


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until(predicate: Callable[[], bool], timeout: float = 30.0, step: float = 0.02) -> bool:
    """Polls ``predicate`` until it holds or ``timeout`` passes (for state only the server knows)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


class Server:
    def __init__(self, binary: str, directory: str, extra: Optional[List[str]] = None, port: int = 0) -> None:
        self.binary = binary
        self.directory = directory
        self.extra = list(extra or [])
        self.port = port
        self.address = ""
        self.process: Optional["subprocess.Popen[bytes]"] = None
        self.log_path = os.path.join(directory, "server.log")
        os.makedirs(directory, exist_ok=True)

    def start(self, timeout: float = 30.0) -> None:
        args = [self.binary, "server", "--data-dir", os.path.join(self.directory, "data"), "--grpc-address",
                f"127.0.0.1:{self.port}", "--http-address", "127.0.0.1:0", *self.extra]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL)
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        buffer = b""
        end = time.monotonic() + timeout
        while b"\n" not in buffer:
            left = end - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise RuntimeError(f"the server did not report listening within {timeout} s:\n{self.log()}")
            chunk = os.read(fd, 256)
            if not chunk:
                raise RuntimeError(f"the server exited before listening:\n{self.log()}")
            buffer += chunk
        line = buffer.split(b"\n", 1)[0].decode()
        if not line.startswith(LISTENING):
            raise RuntimeError(f"unexpected first line {line!r}")
        self.address = line[len(LISTENING):]

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        code = self.process.wait(timeout=60)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None
        return code

    def log(self) -> str:
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-20000:].decode("utf-8", "replace")
        except OSError:
            return ""

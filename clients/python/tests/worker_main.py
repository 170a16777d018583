"""A worker process for the tests: `worker_main.py ADDRESS QUEUE MODE`.

MODE hold: the handler prints "started" and waits for a line on stdin, then returns. MODE echo: returns the
attempt. MODE term-at-start: as echo, and the process sends itself SIGTERM as soon as the worker's pollers
run (inside run()). Prints "stopped True|False" (what Worker.run() returned) before it exits.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

import stepflow


def main() -> int:
    address, queue, mode = sys.argv[1:4]
    client = stepflow.Client.connect(address, timeout=10)
    worker = stepflow.Worker(client, stepflow.WorkerOptions(concurrency=2, identity=f"proc-{mode}"))

    def handler(ctx: stepflow.TaskContext, input: Any) -> Any:
        if mode == "hold":
            print("started", flush=True)
            line = sys.stdin.readline().strip()
            return {"released": line, "cancelled": ctx.cancelled}
        return {"attempt": ctx.attempt, "by": mode}

    worker.handle(queue, handler)
    if mode == "term-at-start":
        start = worker.start

        def start_then_terminate() -> None:
            start()
            os.kill(os.getpid(), signal.SIGTERM)  # as if it came the moment a first task reached a handler

        setattr(worker, "start", start_then_terminate)
    print("ready", flush=True)
    result = worker.run()
    print(f"stopped {result}", flush=True)
    client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

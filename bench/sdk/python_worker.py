"""The no-op W3 worker of the Python SDK (clients/python), run by task_bench --worker-command:

    python3 python_worker.py ADDRESS QUEUE CONCURRENCY

Serves QUEUE with CONCURRENCY handler slots (plain-function handlers on the worker's threads), each handler
returning its input; prints "ready" and drains on SIGTERM (Worker.run). The stepflow package must be on
PYTHONPATH (bench/bench.sh sets it to the build directory's install, as the SDK tests do).
"""

from __future__ import annotations

import sys
from typing import Any

import stepflow


def main() -> int:
    if len(sys.argv) != 4 or not sys.argv[3].isdigit() or int(sys.argv[3]) < 1:
        print("usage: python_worker.py ADDRESS QUEUE CONCURRENCY (>= 1)", file=sys.stderr)
        return 2
    address, queue, concurrency = sys.argv[1], sys.argv[2], int(sys.argv[3])
    client = stepflow.Client.connect(address, timeout=10)
    worker = stepflow.Worker(client, stepflow.WorkerOptions(concurrency=concurrency, identity="bench-python-sdk"))

    def echo(_ctx: stepflow.TaskContext, input: Any) -> Any:
        return input

    worker.handle(queue, echo)
    print("ready", flush=True)
    drained = worker.run()
    client.close()
    return 0 if drained else 1


if __name__ == "__main__":
    sys.exit(main())

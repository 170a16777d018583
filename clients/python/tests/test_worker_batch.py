"""The worker on the batched calls (Tasks.PollBatch, Tasks.ReportBatch), seen from the server: its audit log
names every call a worker makes (one line per call), so these tests count the calls the server answered."""

from __future__ import annotations

import json
import logging
import os
import threading
from typing import Any, Dict, Iterator, List, Tuple

import pytest

import stepflow
from server import Server, free_port, wait_until
from stepflow import TaskContext, Worker, WorkerOptions
from stepflow.types import Execution, ExecutionStatus
from stepflow.v1 import stepflow_pb2 as pb

N = 8


def machine(queue: str) -> Any:
    return {"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": f"activity:{queue}", "End": True}}}


def wait_for_end(client: stepflow.Client, arn: str) -> Execution:
    for _ in client.watch_execution_history(arn, timeout=60):
        pass
    return client.describe_execution(arn)


class AuditedServer(Server):
    """A server on a fixed port (so that it can restart under its workers) with its audit log in a file."""

    def __init__(self, binary: str, directory: str) -> None:
        self.audit_path = os.path.join(directory, "audit.jsonl")
        super().__init__(binary, directory, extra=["--audit-log", self.audit_path], port=free_port())

    def calls(self, rpc: str) -> int:
        """Calls of ``rpc`` ("PollBatch", "Complete", ...) on the Tasks service in the audit log."""
        with open(self.audit_path) as f:
            return sum(1 for line in f if json.loads(line)["rpc"] == f"/stepflow.v1.Tasks/{rpc}")

    def forget_calls(self) -> None:
        open(self.audit_path, "w").close()


@pytest.fixture
def audited(binary: str, tmp_path: "os.PathLike[str]") -> Iterator[AuditedServer]:
    s = AuditedServer(binary, str(tmp_path))
    s.start()
    yield s
    print("---- server log ----\n" + s.log())
    if s.process is not None:
        s.stop()


class Recorder(logging.Handler):
    """The worker's log lines, for a test to wait on."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: List[str] = []
        self.cv = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        with self.cv:
            self.lines.append(record.getMessage())
            self.cv.notify_all()

    def wait_for(self, text: str, timeout: float = 30) -> bool:
        with self.cv:
            return self.cv.wait_for(lambda: any(text in line for line in self.lines), timeout)


def holding_worker(client: stepflow.Client, queue: str, release: threading.Event,
                   logger: logging.Logger = logging.getLogger("stepflow.worker"),
                   ) -> Tuple[Worker, threading.Condition, List[int]]:
    """A worker of N slots whose handlers wait for ``release``; `running` counts the handlers that started."""
    running: List[int] = [0]
    cv = threading.Condition()

    def handler(ctx: TaskContext, input: Any) -> Any:
        with cv:
            running[0] += 1
            cv.notify_all()
        release.wait(60)
        return {"i": input["i"]}

    w = Worker(client, WorkerOptions(concurrency=N, poll_wait=2, logger=logger))
    w.handle(queue, handler)
    return w, cv, running


def test_waiting_tasks_come_in_one_poll_batch_and_results_in_batches(audited: AuditedServer) -> None:
    with stepflow.Client.connect(audited.address) as client:
        client.create_state_machine("batch", machine("batch"))
        arns = [client.start_execution("batch", {"i": i}).arn for i in range(N)]
        all_ran = threading.Barrier(N, timeout=30)
        polls_when_all_ran: List[int] = []
        worker = Worker(client, WorkerOptions(concurrency=N, poll_wait=2))

        def handler(ctx: TaskContext, input: Any) -> Any:
            if all_ran.wait() == 0:  # the N handlers run at once: the N tasks were handed out
                polls_when_all_ran.append(worker.stats().polls)
            return {"i": input["i"]}

        worker.handle("batch", handler)
        worker.start()
        try:
            for i, arn in enumerate(arns):
                e = wait_for_end(client, arn)
                assert e.status == ExecutionStatus.SUCCEEDED and e.output_value == {"i": i}
            assert wait_until(lambda: worker.stats().completed == N)
        finally:
            assert worker.stop() is True
        # The N slots were free and N tasks waited: one call handed them all out.
        assert polls_when_all_ran == [1]
        assert audited.calls("PollBatch") >= 1 and audited.calls("ReportBatch") >= 1
        for unary in ("Poll", "Complete", "Fail", "Heartbeat"):
            assert audited.calls(unary) == 0, unary


def test_a_busy_workers_next_steps_come_with_its_reports(audited: AuditedServer) -> None:
    steps = 5
    states: Dict[str, Dict[str, Any]] = {
        f"S{k}": {"Type": "Task", "Resource": "activity:steps", "Next": f"S{k + 1}"} for k in range(steps)}
    del states[f"S{steps - 1}"]["Next"]
    states[f"S{steps - 1}"]["End"] = True
    with stepflow.Client.connect(audited.address) as client:
        client.create_state_machine("steps", {"StartAt": "S0", "States": states})
        arns = [client.start_execution("steps", {"i": i}).arn for i in range(N)]
        worker = Worker(client, WorkerOptions(concurrency=N, poll_wait=2))
        # The last steps wait until every execution is at its last step: a slot freed earlier (an execution
        # ended) would long-poll, and a poll that waits is served before a report's, so it could take another
        # execution's next step and count a poll more.
        last_steps = threading.Barrier(N, timeout=30)

        def handler(ctx: TaskContext, input: Any) -> Any:
            if ctx.state_name == f"S{steps - 1}":
                last_steps.wait()
            return input

        worker.handle("steps", handler)
        worker.start()
        try:
            for i, arn in enumerate(arns):
                e = wait_for_end(client, arn)
                assert e.status == ExecutionStatus.SUCCEEDED and e.output_value == {"i": i}
            assert wait_until(lambda: worker.stats().completed == N * steps)
            polls = worker.stats().polls
        finally:
            assert worker.stop() is True
        # The first poll handed out the N first steps; every later step came back with the report of the one
        # before it (started in that report's commit), in its slot: no poll for them.
        assert polls <= 2, polls
        assert audited.calls("Complete") == 0


def test_reports_made_while_a_call_is_under_way_go_together(audited: AuditedServer) -> None:
    release = threading.Event()
    worker_client = stepflow.Client.connect(audited.address)
    worker, cv, running = holding_worker(worker_client, "gather", release)
    try:
        with stepflow.Client.connect(audited.address) as client:
            client.create_state_machine("gather", machine("gather"))
            arns = [client.start_execution("gather", {"i": i}).arn for i in range(N)]
        worker.start()
        with cv:
            assert cv.wait_for(lambda: running[0] == N, 30)
        # With the server away, the first report calls wait for it (wait-for-ready) and the other reports gather.
        audited.stop()
        release.set()
        assert wait_until(lambda: worker._reports.unanswered() == N)
        audited.forget_calls()
        audited.start()
        with stepflow.Client.connect(audited.address) as client:
            for i, arn in enumerate(arns):
                e = wait_for_end(client, arn)
                assert e.status == ExecutionStatus.SUCCEEDED and e.output_value == {"i": i}
        assert wait_until(lambda: worker.stats().completed == N)
        # Two calls were under way when the server came back; the other N - 2 reports went in one more.
        assert 1 <= audited.calls("ReportBatch") <= 3
        assert audited.calls("Complete") == 0
    finally:
        release.set()
        assert worker.stop() is True
        worker_client.close()


def test_a_report_whose_batch_call_failed_is_retried(audited: AuditedServer) -> None:
    release = threading.Event()
    recorder = Recorder()
    logger = logging.getLogger("stepflow.worker.test-retry")
    logger.setLevel(logging.INFO)
    logger.addHandler(recorder)
    # Calls time out after 1 s: the report calls made while the server is away fail (Timeout).
    worker_client = stepflow.Client.connect(audited.address, options=stepflow.ClientOptions(call_timeout=1.0))
    worker, cv, running = holding_worker(worker_client, "retry", release, logger)
    try:
        with stepflow.Client.connect(audited.address) as client:
            client.create_state_machine("retry", machine("retry"))
            arns = [client.start_execution("retry", {"i": i}).arn for i in range(N)]
        worker.start()
        with cv:
            assert cv.wait_for(lambda: running[0] == N, 30)
        audited.stop()
        release.set()
        assert recorder.wait_for("(retrying in"), recorder.lines
        audited.start()
        with stepflow.Client.connect(audited.address) as client:
            for i, arn in enumerate(arns):
                e = wait_for_end(client, arn)
                assert e.status == ExecutionStatus.SUCCEEDED and e.output_value == {"i": i}
                types = [h.type for h in client.get_execution_history(arn)]
                assert types.count("TaskSucceeded") == 1, types
        assert wait_until(lambda: worker.stats().completed == N)
        assert worker.stats().failed == 0
    finally:
        release.set()
        assert worker.stop() is True
        worker_client.close()
        logger.removeHandler(recorder)


def test_poll_tasks_and_report_tasks(client: stepflow.Client) -> None:
    client.create_state_machine("calls", machine("calls"))
    arns = [client.start_execution("calls", {"i": i}).arn for i in range(3)]
    tasks = client.poll_tasks("calls", "tester", max_tasks=3, wait_seconds=10)
    assert sorted(json.loads(t.input)["i"] for t in tasks) == [0, 1, 2]
    assert all(t.queue == "calls" for t in tasks)
    reports = [pb.TaskReport(complete=pb.CompleteTaskRequest(task_token=t.token, output=json.dumps({"first": True})))
               for t in tasks]
    assert client.report_tasks(reports) == [None, None, None]
    # Reported twice (a retry whose first answer was lost): OK, and the first completion is the one that counts.
    again = [pb.TaskReport(complete=pb.CompleteTaskRequest(task_token=t.token, output="{}")) for t in tasks]
    assert client.report_tasks(reports + again) == [None] * 6
    for arn in arns:
        e = wait_for_end(client, arn)
        assert e.status == ExecutionStatus.SUCCEEDED and e.output_value == {"first": True}
        assert [h.type for h in client.get_execution_history(arn)].count("TaskSucceeded") == 1
    errors = client.report_tasks([pb.TaskReport(heartbeat=pb.HeartbeatTaskRequest(task_token="not-a-token")),
                                  pb.TaskReport()])
    assert [type(e).__name__ if e else None for e in errors] == ["InvalidToken", "ValidationException"]
    assert client.poll_tasks("calls", max_tasks=5, wait_seconds=1) == []
    with pytest.raises(stepflow.errors.ValidationException):
        client.poll_tasks("calls", max_tasks=257, wait_seconds=1)



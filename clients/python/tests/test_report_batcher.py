"""The worker's ReportBatcher against a fake client: racing senders each get their own report's answer, never
more than two calls are under way, reports made meanwhile gather, and each call stays within the bounds."""

from __future__ import annotations

import threading
import time
from typing import Any, Dict, List, Optional, Tuple

import grpc

from server import wait_until
from stepflow._report_batcher import (MAX_BATCHES_IN_FLIGHT, MAX_POLL_TASKS, MAX_REPORT_BYTES, MAX_REPORT_ITEMS,
                                      ReportBatcher, SlotSink)
from stepflow.errors import make_error
from stepflow.v1 import stepflow_pb2 as pb


class FakeClient:
    """Answers every report by its token: "gone-*" TaskTimedOut, "beat-cancel-*" cancelled, others OK. The
    first ``hold`` calls wait for ``release``."""

    def __init__(self, hold: int = 0) -> None:
        self.lock = threading.Lock()
        self.calls: List[int] = []  # reports per ReportBatch call
        self.unary: List[str] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.hold = hold
        self.held = threading.Semaphore(0)  # released once per call that waits
        self.release = threading.Event()
        self.fail_next: Optional[Exception] = None
        self.asked: List[Dict[str, int]] = []  # per call with polls: max_tasks by queue

    def report_tasks_and_poll_raw(self, reports: List[Any], polls: List[Any],
                                  wait_for_ready: bool = False) -> Tuple[List[Any], List[Any]]:
        with self.lock:
            self.asked.append({p.queue: p.max_tasks for p in polls})
        return self.report_tasks_raw(reports, wait_for_ready), []

    def report_tasks_raw(self, reports: List[Any], wait_for_ready: bool = False) -> List[Any]:
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            self.calls.append(len(reports))
            wait = len(self.calls) <= self.hold
            failure, self.fail_next = self.fail_next, None
        assert sum(r.ByteSize() for r in reports) <= MAX_REPORT_BYTES and len(reports) <= MAX_REPORT_ITEMS
        if wait:
            self.held.release()
            self.release.wait(30)
        with self.lock:
            self.in_flight -= 1
        if failure is not None:
            raise failure
        results = []
        for r in reports:
            token = getattr(r, r.WhichOneof("report")).task_token
            if token.startswith("gone-"):
                results.append(pb.TaskReportResult(code=grpc.StatusCode.FAILED_PRECONDITION.value[0],
                                                   error="TaskTimedOut", message="TaskTimedOut: " + token))
            else:
                results.append(pb.TaskReportResult(cancelled=token.startswith("beat-cancel-")))
        return results

    def complete_task(self, token: str, output: str, wait_for_ready: bool = False) -> None:
        self.unary.append(token)


def complete(token: str, output: str = "{}") -> Any:
    return pb.TaskReport(complete=pb.CompleteTaskRequest(task_token=token, output=output))


def test_racing_senders_get_their_own_answers_in_at_most_two_calls_at_once() -> None:
    client = FakeClient(hold=MAX_BATCHES_IN_FLIGHT)
    batcher = ReportBatcher(client)
    answers: Dict[str, Any] = {}

    def send(token: str) -> None:
        report = (pb.TaskReport(heartbeat=pb.HeartbeatTaskRequest(task_token=token)) if token.startswith("beat")
                  else complete(token))
        answers[token] = batcher.send(report)

    tokens = [f"{kind}-{i}" for i in range(20) for kind in ("ok", "gone", "beat-cancel", "beat")]
    threads = [threading.Thread(target=send, args=(t,)) for t in tokens]
    # One sender at a time, each call held before the next report is made: two reports made together could
    # go in one call (a free sender takes all that is pending).
    for t in threads[:MAX_BATCHES_IN_FLIGHT]:
        t.start()
        assert client.held.acquire(timeout=30)  # its call under way and held
    for t in threads[MAX_BATCHES_IN_FLIGHT:]:
        t.start()
    assert wait_until(lambda: batcher.unanswered() == len(tokens))
    client.release.set()
    for t in threads:
        t.join(30)
    assert client.most_in_flight <= MAX_BATCHES_IN_FLIGHT
    # The two held calls, then the reports made meanwhile in one more.
    assert len(client.calls) == MAX_BATCHES_IN_FLIGHT + 1 and sum(client.calls) == len(tokens)
    for token in tokens:
        error, cancelled = answers[token]
        if token.startswith("gone-"):
            assert error is not None and error.name == "TaskTimedOut" and token in error.message
        else:
            assert error is None
        assert cancelled == token.startswith("beat-cancel-")
    assert batcher.unanswered() == 0


def test_a_call_is_split_at_the_bounds_and_a_huge_report_goes_alone() -> None:
    client = FakeClient()
    batcher = ReportBatcher(client)
    outcomes = batcher.send_all([complete(f"t-{i}") for i in range(2 * MAX_REPORT_ITEMS + 5)])
    assert client.calls == [MAX_REPORT_ITEMS, MAX_REPORT_ITEMS, 5]
    assert all(o == (None, False) for o in outcomes)
    big = "[" + ",".join(["1"] * (MAX_REPORT_BYTES // 2)) + "]"  # ~4 MiB of JSON
    assert batcher.send(complete("huge", big)) == (None, False)
    assert client.unary == ["huge"]
    half = "[" + ",".join(["1"] * (MAX_REPORT_BYTES // 6)) + "]"  # ~1.3 MiB: three fit no call
    batcher.send_all([complete(f"h-{i}", half) for i in range(3)])
    assert client.calls[3:] == [2, 1]


def test_a_failed_call_answers_its_error_for_every_report_it_carried() -> None:
    client = FakeClient()
    client.fail_next = make_error("ServiceUnavailable", "ServiceUnavailable: away", grpc.StatusCode.UNAVAILABLE)
    outcomes = ReportBatcher(client).send_all([complete("a"), complete("b")])
    assert [(o[0].name if o[0] else None) for o in outcomes] == ["ServiceUnavailable", "ServiceUnavailable"]


def test_a_call_that_raises_anything_else_answers_internal_failure() -> None:
    client = FakeClient()
    client.fail_next = RuntimeError("a bug")
    outcomes = ReportBatcher(client).send_all([complete("a")])
    assert outcomes[0][0] is not None and outcomes[0][0].name == "InternalFailure"
    assert "a bug" in outcomes[0][0].message


class Sink(SlotSink):
    def __init__(self, accepting: bool) -> None:
        self.open = accepting

    def accepting(self) -> bool:
        return self.open

    def take_over(self, tasks: List[Any], passed: int) -> None:
        raise AssertionError("the fake client hands back no task")


def test_results_ask_for_the_slots_they_free_within_the_servers_bound() -> None:
    client = FakeClient()
    batcher = ReportBatcher(client, "w", Sink(True))
    assert all(e is None for e, _ in batcher.send_all([complete(f"a-{i}") for i in range(3)], "a"))
    assert client.asked == [{"a": 3}]
    # More results in one call than its polls may ask tasks for together: the call asks for the bound.
    batcher.send_all([complete(f"b-{i}") for i in range(MAX_POLL_TASKS + 40)], "b")
    assert client.asked[1] == {"b": MAX_POLL_TASKS}
    # Heartbeats free no slot, and a stopping worker asks for nothing.
    batcher.send_all([pb.TaskReport(heartbeat=pb.HeartbeatTaskRequest(task_token="beat-1"))])
    ReportBatcher(client, "w", Sink(False)).send_all([complete("c-1")], "c")
    assert len(client.asked) == 2


def test_submit_returns_before_the_answer_and_a_transient_failure_goes_again_until_given_up() -> None:
    client = FakeClient(hold=1)
    batcher = ReportBatcher(client, initial_backoff=0.01, max_backoff=0.02)
    answers: List[Tuple[Optional[str], bool]] = []
    answered = threading.Event()
    retries: List[float] = []

    def done(outcome: Any, slot_passed: bool) -> None:
        answers.append((outcome[0].name if outcome[0] else None, slot_passed))
        answered.set()

    client.fail_next = make_error("ServiceUnavailable", "ServiceUnavailable: away", grpc.StatusCode.UNAVAILABLE)
    batcher.submit(complete("a"), done, "", time.monotonic() + 30, lambda error, delay: retries.append(delay))
    assert client.held.acquire(timeout=10)  # the call is under way and held: submit has returned
    assert answers == [] and batcher.unanswered() == 1
    client.release.set()  # the held call fails
    assert answered.wait(10)
    assert answers == [(None, False)], "answered once, after the retry succeeded"
    assert retries == [0.01]
    assert batcher.unanswered() == 0
    # Past its give_up a transient failure is the answer.
    answered.clear()
    client.fail_next = make_error("ServiceUnavailable", "ServiceUnavailable: away", grpc.StatusCode.UNAVAILABLE)
    batcher.submit(complete("b"), done, "", time.monotonic())
    assert answered.wait(10)
    assert answers[-1] == ("ServiceUnavailable", False)
    # Once closed, a report is answered at once with Cancelled.
    batcher.close()
    answered.clear()
    batcher.submit(complete("c"), done)
    assert answered.is_set() and answers[-1] == ("Cancelled", False)

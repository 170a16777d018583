"""The worker's reports (Complete, Fail, Heartbeat) in Tasks.ReportBatch calls, as the C++ worker sends them
(clients/cpp/worker.cc, ReportBatcher).

A report made while ``MAX_BATCHES_IN_FLIGHT`` calls are under way waits and goes with the others made
meanwhile in the next call: its sender's thread sends it, with them, as soon as a call ends (no thread of its
own, no added delay when the worker is idle). One call carries at most ``MAX_REPORT_ITEMS`` reports and
``MAX_REPORT_BYTES`` (the server's bounds, proto/stepflow/v1/stepflow.proto); a report that alone comes near
the byte bound goes as its unary call instead. Each report is answered as its unary call would have been; a
call that failed as a whole answers its error for every report it carried (the caller retries as before).

A call that carries results (``send_result``) also asks, per queue, for as many tasks as those results free
slots (ReportBatch's polls), unless the worker stops (``SlotSink.accepting``): the server answers with the
tasks the reports' own commits schedule, started in those commits, and then any waiting. Each one takes the
slot of a reported task (``SlotSink.take_over``, before the reporters are answered).

Thread-safety: thread-safe.
"""

from __future__ import annotations

import collections
import threading
from typing import Any, Deque, Dict, List, Optional, Tuple

import grpc

from stepflow.v1 import stepflow_pb2 as pb
from stepflow.errors import StepflowError, make_error, report_error

MAX_REPORT_ITEMS = 1000
MAX_REPORT_BYTES = 4 << 20
REPORT_BYTES_SLACK = 64 << 10
MAX_BATCHES_IN_FLIGHT = 2
MAX_POLL_TASKS = 256  # the most tasks one call's polls ask for together (the server's bound)
MAX_REPORT_POLLS = 100  # the most polls (queues) one call carries (the server's bound)

# What a report's unary call would have answered: its error (None = OK), and for a heartbeat `cancelled`.
Outcome = Tuple[Optional[StepflowError], bool]


class SlotSink:
    """Where the tasks that come back with reports go (the Worker)."""

    def accepting(self) -> bool:
        """Whether tasks may be asked for now (False once the worker stops)."""
        raise NotImplementedError

    def take_over(self, tasks: List[Any], passed: int) -> None:
        """``tasks`` (``pb.PollTaskResponse``) came back: ``passed`` of them take the slots of reported tasks, the
        others need free slots of their own (never, from a server that keeps to max_tasks)."""
        raise NotImplementedError


class _Item:
    __slots__ = ("report", "bytes", "slot_queue", "outcome", "slot_passed", "done")

    def __init__(self, report: Any, size: int, slot_queue: str) -> None:
        self.report = report
        self.bytes = size
        self.slot_queue = slot_queue  # a result: the queue whose slot it frees ("" = none)
        self.outcome: Outcome = (None, False)  # set by the sender before `done`
        self.slot_passed = False  # set by the sender before `done`: a task took its slot
        self.done = False  # guarded by the batcher's condition


class ReportBatcher:
    def __init__(self, client: Any, identity: str = "", slots: Optional[SlotSink] = None) -> None:
        self._client = client
        self._identity = identity
        self._slots = slots  # None: no tasks asked for
        self._cv = threading.Condition()
        self._pending: Deque[_Item] = collections.deque()  # not yet taken into a call
        self._in_flight = 0  # calls under way
        self._unanswered = 0  # reports given to send_all and not answered yet (tests wait on it)

    def unanswered(self) -> int:
        with self._cv:
            return self._unanswered

    def send(self, report: Any) -> Outcome:
        """Sends one ``pb.TaskReport`` and answers it (blocks until its call ends)."""
        return self.send_all([report])[0]

    def send_result(self, report: Any, queue: str) -> Tuple[Outcome, bool]:
        """Sends the result (complete or fail) of a task of ``queue`` and answers it, and whether a task that
        came back took the task's slot."""
        passed: List[bool] = []
        outcome = self.send_all([report], queue, passed)[0]
        return outcome, passed[0]

    def send_all(self, reports: List[Any], queue: str = "",
                 slot_passed: Optional[List[bool]] = None) -> List[Outcome]:
        """Sends every report (in as few calls as the bounds allow, with the others pending) and answers each.
        With ``queue``, they are results that free slots of that queue, and ``slot_passed`` (filled in) says
        which slots passed to tasks that came back."""
        outcomes: List[Outcome] = [(None, False)] * len(reports)
        if slot_passed is not None:
            slot_passed[:] = [False] * len(reports)
        items: List[Tuple[int, _Item]] = []
        for i, report in enumerate(reports):
            size = report.ByteSize()
            if size > MAX_REPORT_BYTES - REPORT_BYTES_SLACK:
                outcomes[i] = self._send_alone(report)
            else:
                items.append((i, _Item(report, size, queue)))
        if not items:
            return outcomes
        with self._cv:
            self._pending.extend(item for _, item in items)
            self._unanswered += len(items)
        try:
            while True:
                with self._cv:
                    while True:
                        if all(item.done for _, item in items):
                            for i, item in items:
                                outcomes[i] = item.outcome
                                if slot_passed is not None:
                                    slot_passed[i] = item.slot_passed
                            return outcomes
                        if self._in_flight < MAX_BATCHES_IN_FLIGHT and self._pending:
                            batch = self._take_batch()
                            self._in_flight += 1
                            break
                        self._cv.wait()
                try:
                    self._send_batch(batch)
                finally:
                    with self._cv:
                        self._in_flight -= 1
                        for sent in batch:
                            sent.done = True
                        self._cv.notify_all()
        finally:
            with self._cv:
                self._unanswered -= len(items)

    def _take_batch(self) -> List[_Item]:
        """The oldest pending reports within the bounds of one call. Requires the condition held."""
        batch: List[_Item] = []
        size = 0
        while (self._pending and len(batch) < MAX_REPORT_ITEMS
               and size + self._pending[0].bytes + REPORT_BYTES_SLACK <= MAX_REPORT_BYTES):
            item = self._pending.popleft()
            size += item.bytes
            batch.append(item)
        return batch

    def _polls(self, batch: List[_Item]) -> Tuple[List[Any], Dict[str, List[_Item]]]:
        """The polls for the slots the batch's results free (none once the worker stops), and those results by
        queue."""
        freeing: Dict[str, List[_Item]] = {}
        for item in batch:
            if item.slot_queue:
                freeing.setdefault(item.slot_queue, []).append(item)
        if self._slots is None or not freeing or not self._slots.accepting():
            return [], freeing
        polls: List[Any] = []
        room = MAX_POLL_TASKS  # the server's bound on the tasks of one call's polls together
        for queue, results in freeing.items():
            n = min(len(results), room)
            if n == 0 or len(polls) == MAX_REPORT_POLLS:
                break
            polls.append(pb.PollTaskBatchRequest(queue=queue, worker_identity=self._identity, max_tasks=n))
            room -= n
        return polls, freeing

    def _send_batch(self, batch: List[_Item]) -> None:
        polls, freeing = self._polls(batch)
        tasks: List[Any] = []
        try:
            # Waits (within call_timeout) for a server that is away, so that reports made during an outage go
            # out as soon as it is back.
            reports = [item.report for item in batch]
            if polls:
                results, tasks = self._client.report_tasks_and_poll_raw(reports, polls, wait_for_ready=True)
            else:
                results = self._client.report_tasks_raw(reports, wait_for_ready=True)
        except StepflowError as e:
            for item in batch:
                item.outcome = (e, False)
            return
        except Exception as e:  # noqa: BLE001 - whatever went wrong, each report of the call is answered
            failure = make_error("InternalFailure", f"InternalFailure: ReportBatch: {e!r}", grpc.StatusCode.INTERNAL)
            for item in batch:
                item.outcome = (failure, False)
            return
        for item, result in zip(batch, results):
            item.outcome = (report_error(result), bool(result.cancelled))
        if tasks and self._slots is not None:
            # Each task that came back takes the slot of a result of its queue in this call.
            passed = 0
            for task in tasks:
                results_of_queue = freeing.get(task.queue)
                if results_of_queue:
                    results_of_queue.pop().slot_passed = True
                    passed += 1
            self._slots.take_over(tasks, passed)

    def _send_alone(self, report: Any) -> Outcome:
        kind = report.WhichOneof("report")
        try:
            if kind == "complete":
                self._client.complete_task(report.complete.task_token, report.complete.output, wait_for_ready=True)
            elif kind == "fail":
                self._client.fail_task(report.fail.task_token, report.fail.error, report.fail.cause,
                                       wait_for_ready=True)
            else:
                return None, self._client.heartbeat_task(report.heartbeat.task_token)
        except StepflowError as e:
            return e, False
        return None, False

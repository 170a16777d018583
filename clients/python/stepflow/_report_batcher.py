"""The worker's reports (Complete, Fail, Heartbeat) in Tasks.ReportBatch calls, as the C++ worker sends them
(clients/cpp/worker.cc, ReportBatcher).

A report made while ``MAX_BATCHES_IN_FLIGHT`` calls are under way waits and goes with the others made
meanwhile in the next call: its sender's thread sends it, with them, as soon as a call ends (no thread of its
own, no added delay when the worker is idle). One call carries at most ``MAX_REPORT_ITEMS`` reports and
``MAX_REPORT_BYTES`` (the server's bounds, proto/stepflow/v1/stepflow.proto); a report that alone comes near
the byte bound goes as its unary call instead. Each report is answered as its unary call would have been; a
call that failed as a whole answers its error for every report it carried (the caller retries as before).

Thread-safety: thread-safe.
"""

from __future__ import annotations

import collections
import threading
from typing import Any, Deque, List, Optional, Tuple

import grpc

from stepflow.errors import StepflowError, make_error, report_error

MAX_REPORT_ITEMS = 1000
MAX_REPORT_BYTES = 4 << 20
REPORT_BYTES_SLACK = 64 << 10
MAX_BATCHES_IN_FLIGHT = 2

# What a report's unary call would have answered: its error (None = OK), and for a heartbeat `cancelled`.
Outcome = Tuple[Optional[StepflowError], bool]


class _Item:
    __slots__ = ("report", "bytes", "outcome", "done")

    def __init__(self, report: Any, size: int) -> None:
        self.report = report
        self.bytes = size
        self.outcome: Outcome = (None, False)  # set by the sender before `done`
        self.done = False  # guarded by the batcher's condition


class ReportBatcher:
    def __init__(self, client: Any) -> None:
        self._client = client
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

    def send_all(self, reports: List[Any]) -> List[Outcome]:
        """Sends every report (in as few calls as the bounds allow, with the others pending) and answers each."""
        outcomes: List[Outcome] = [(None, False)] * len(reports)
        items: List[Tuple[int, _Item]] = []
        for i, report in enumerate(reports):
            size = report.ByteSize()
            if size > MAX_REPORT_BYTES - REPORT_BYTES_SLACK:
                outcomes[i] = self._send_alone(report)
            else:
                items.append((i, _Item(report, size)))
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

    def _send_batch(self, batch: List[_Item]) -> None:
        try:
            # Waits (within call_timeout) for a server that is away, so that reports made during an outage go
            # out as soon as it is back.
            results = self._client.report_tasks_raw([item.report for item in batch], wait_for_ready=True)
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

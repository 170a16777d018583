"""The worker's reports (Complete, Fail, Heartbeat) in Tasks.ReportBatch calls, as the C++ worker sends them
(clients/cpp/worker.cc, ReportBatcher).

``MAX_BATCHES_IN_FLIGHT`` sender threads of the batcher's own make the calls: a report made while they are in
calls waits and goes with the others made meanwhile in the next call (a lone report goes at once). ``submit``
does not wait: a handler's thread is free for its next task as soon as its result is handed over, and the
result's ``done`` runs on a sender thread when its answer is known; ``send``/``send_all`` wait for theirs. One
call carries at most ``MAX_REPORT_ITEMS`` reports and ``MAX_REPORT_BYTES`` (the server's bounds,
proto/stepflow/v1/stepflow.proto); a report that alone comes near the byte bound goes as its unary call
instead. Each report is answered as its unary call would have been; a call that failed as a whole answers its
error for every report it carried. A submitted report whose call failed with Unavailable or a deadline is sent
again, with a doubling backoff, until its ``give_up``.

A call that carries results (a ``slot_queue``) also asks, per queue, for as many tasks as those results free
slots (ReportBatch's polls), unless the worker stops (``SlotSink.accepting``): the server answers with the
tasks the reports' own commits schedule, started in those commits, and then any waiting. Each one takes the
slot of a reported task (``SlotSink.take_over``, before the reporters are answered).

A report submitted once ``close`` has begun is answered at once with Cancelled.

Thread-safety: thread-safe; ``done`` must not call ``close``.
"""

from __future__ import annotations

import collections
import heapq
import itertools
import logging
import threading
import time
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple

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


def _goes_alone(size: int) -> bool:
    """A report this large goes alone, as its unary call."""
    return size > MAX_REPORT_BYTES - REPORT_BYTES_SLACK


# What became of a submitted report: its outcome, and whether a task that came back took its slot.
Done = Callable[[Outcome, bool], None]
# A submitted report's call failed and it goes again after the delay (s).
Retried = Callable[[StepflowError, float], None]
_RETRYABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


class _Item:
    __slots__ = ("report", "bytes", "slot_queue", "give_up", "backoff", "done", "retried", "outcome", "slot_passed")

    def __init__(self, report: Any, size: int, slot_queue: str, give_up: float, backoff: float, done: Done,
                 retried: Optional[Retried] = None) -> None:
        self.report = report
        self.bytes = size
        self.slot_queue = slot_queue  # a result: the queue whose slot it frees ("" = none)
        self.give_up = give_up  # time.monotonic() after which a transient failure is final
        self.backoff = backoff  # before its next attempt, if this one fails with a transient error
        self.done = done
        self.retried = retried
        self.outcome: Outcome = (None, False)  # set by its sender
        self.slot_passed = False  # set by its sender: a task took its slot


class ReportBatcher:
    def __init__(self, client: Any, identity: str = "", slots: Optional[SlotSink] = None,
                 initial_backoff: float = 0.1, max_backoff: float = 2.0) -> None:
        self._client = client
        self._identity = identity
        self._slots = slots  # None: no tasks asked for
        self._initial_backoff = initial_backoff
        self._max_backoff = max_backoff
        self._cv = threading.Condition()
        self._pending: Deque[_Item] = collections.deque()  # not yet taken into a call
        self._retrying: List[Tuple[float, int, _Item]] = []  # a heap by when to send again
        self._order = itertools.count()  # ties in _retrying
        self._idle = 0  # senders waiting for a report
        self._unanswered = 0  # reports submitted and not answered yet (tests wait on it)
        self._closing = False
        self._senders = [threading.Thread(target=self._send_loop, name=f"stepflow-report-{i}", daemon=True)
                         for i in range(MAX_BATCHES_IN_FLIGHT)]
        for t in self._senders:
            t.start()

    def close(self) -> None:
        """Sends what is pending (reports waiting to be sent again once more, whatever their give_up), answers
        each, then stops the senders. Idempotent."""
        with self._cv:
            self._closing = True
            self._cv.notify_all()
        for t in self._senders:
            if t is not threading.current_thread():
                t.join()

    def unanswered(self) -> int:
        with self._cv:
            return self._unanswered

    def submit(self, report: Any, done: Done, slot_queue: str = "", give_up: float = 0.0,
               retried: Optional[Retried] = None) -> None:
        """Queues one ``pb.TaskReport`` and returns; ``done`` gets its answer. With ``slot_queue`` it is a result
        that frees a slot of that queue. Transient failures are sent again until ``give_up`` (monotonic), each
        told to ``retried`` first."""
        self._queue([_Item(report, report.ByteSize(), slot_queue, give_up, self._initial_backoff, done, retried)])

    def _queue(self, items: List[_Item]) -> None:
        """Queues ``items`` together (so that they go in as few calls as the bounds allow)."""
        with self._cv:
            closed = self._closing
            if not closed:
                self._pending.extend(items)
                self._unanswered += len(items)
                if self._idle:
                    self._cv.notify()
        if closed:
            for item in items:
                item.done((make_error("Cancelled", "Cancelled: the reports are closed", grpc.StatusCode.CANCELLED),
                           False), False)

    def send(self, report: Any) -> Outcome:
        """Sends one ``pb.TaskReport`` and answers it (blocks until its call ends)."""
        return self.send_all([report])[0]

    def send_all(self, reports: List[Any], queue: str = "") -> List[Outcome]:
        """Sends every report (in as few calls as the bounds allow, with the others pending; not again after a
        failure) and answers each. With ``queue``, they are results that free slots of that queue."""
        outcomes: List[Outcome] = [(None, False)] * len(reports)
        unanswered = [len(reports)]
        answered = threading.Condition()

        def answer(i: int) -> Done:
            def done(outcome: Outcome, slot_passed: bool) -> None:
                with answered:
                    outcomes[i] = outcome
                    unanswered[0] -= 1
                    answered.notify()
            return done

        self._queue([_Item(report, report.ByteSize(), queue, 0.0, self._initial_backoff, answer(i))
                     for i, report in enumerate(reports)])
        with answered:
            answered.wait_for(lambda: unanswered[0] == 0)
        return outcomes

    def _send_loop(self) -> None:
        while True:
            with self._cv:
                while True:
                    now = time.monotonic()
                    while self._retrying and (self._closing or self._retrying[0][0] <= now):
                        self._pending.append(heapq.heappop(self._retrying)[2])
                    if self._pending:
                        break
                    if self._closing:
                        return
                    self._idle += 1
                    self._cv.wait(self._retrying[0][0] - now if self._retrying else None)
                    self._idle -= 1
                batch = self._take_batch()
                if self._pending and self._idle:
                    self._cv.notify()  # the rest need not wait for this call
            if len(batch) == 1 and _goes_alone(batch[0].bytes):
                batch[0].outcome = self._send_alone(batch[0].report)
            else:
                self._send_batch(batch)
            sent = time.monotonic()
            answered: List[_Item] = []
            again: List[Tuple[_Item, StepflowError, float]] = []
            with self._cv:
                for item in batch:
                    error = item.outcome[0]
                    delay = item.backoff
                    if (not self._closing and error is not None and error.code in _RETRYABLE
                            and sent + delay <= item.give_up):
                        item.backoff = min(delay * 2, self._max_backoff)
                        heapq.heappush(self._retrying, (sent + delay, next(self._order), item))
                        again.append((item, error, delay))
                    else:
                        answered.append(item)
                        self._unanswered -= 1
            for item, error, delay in again:
                if item.retried is not None:
                    item.retried(error, delay)
            for item in answered:
                try:
                    item.done(item.outcome, item.slot_passed)
                except Exception:  # noqa: BLE001 - the sender serves every other report too
                    logging.getLogger("stepflow.worker").exception("a report's answer could not be handled")

    def _take_batch(self) -> List[_Item]:
        """The oldest pending reports within the bounds of one call; a report too large for a call with others
        alone. Requires the condition held."""
        batch: List[_Item] = []
        size = 0
        while self._pending and len(batch) < MAX_REPORT_ITEMS:
            next_bytes = self._pending[0].bytes
            if _goes_alone(next_bytes):
                if not batch:
                    batch.append(self._pending.popleft())
                break
            if size + next_bytes + REPORT_BYTES_SLACK > MAX_REPORT_BYTES:
                break
            size += next_bytes
            batch.append(self._pending.popleft())
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

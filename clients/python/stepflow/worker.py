"""The Python worker: runs handlers for the tasks of Stepflow queues, over the public Tasks API only.

    worker = stepflow.Worker(client, stepflow.WorkerOptions(concurrency=4))

    @worker.handler("charge-card")
    def charge(ctx: stepflow.TaskContext, input: Any) -> Any:
        if declined:
            raise stepflow.TaskError("Payment.Declined", "card expired")
        return {"charged": True}

    worker.run()  # until SIGTERM/SIGINT or stop(); then drains

The contract is the C++ worker's (clients/cpp/worker.h), and so are the calls it makes: the batched
Tasks.PollBatch and Tasks.ReportBatch (the unary Poll/Complete/Fail/Heartbeat stay for other clients).
- It polls a queue only while one of its ``concurrency`` handler slots is free, so it never holds a task it
  cannot start: each PollBatch reserves every free slot (up to the queue's share, concurrency / queues) for
  the length of its long poll and asks for that many tasks; it gets the first task to come and those waiting
  with it. Two poll threads per queue, so that one poll is under way while the other hands out its tasks.
- The handler gets the task's input (parsed JSON) and a TaskContext (execution, state, attempt, deadline,
  cancellation). Plain functions run on the worker's threads; ``async def`` handlers (or handlers returning an
  awaitable) run on the worker's one event loop. The returned value (None = {}) becomes the task's output;
  a raised TaskError(error, cause) fails it with that error and cause.
- While the handler runs, the worker heartbeats the task: every third of its HeartbeatSeconds, or every
  ``default_heartbeat_interval`` when the state has none (to learn of cancellation). One thread heartbeats
  every running task; the heartbeats due together go in one call.
- Results, failures and heartbeats go in ReportBatch calls: at most two calls are under way at once, and the
  reports made meanwhile gather for the next one (at most 1,000 reports and 4 MiB per call; a report that
  alone nears 4 MiB goes as its unary call). Each report is answered as its unary call would be; a repeated
  completion changes nothing (the first one counts).
- A report call that carries results also asks, per queue, for as many tasks as they free slots (not once
  the worker stops): the server answers with the tasks the reports' own commits schedule (a workflow's next
  step, started in that commit) and then any waiting; each takes a reported task's slot, so a busy worker
  gets its next tasks without polls and never holds more tasks than its slots.
- Cancellation reaches the handler through its TaskContext (``cancelled``, ``wait_for_cancellation``,
  ``wait_for_cancellation_async``, ``on_cancel``) when a heartbeat answers cancelled, when the server refuses
  the token (the task timed out), when the task's deadline passes, or when a drain runs out of time. A
  handler that ignores cancellation only wastes work: the server refuses a late result.
- Errors the worker makes up (the ASL error names a Retry or Catch can match):
    Worker.Exception     the handler raised anything but TaskError (cause: str(exception), or its type's
                         name), or returned a value that is not JSON-serialisable
    Worker.InvalidInput  the task's input is not JSON (the server should never send that)
    Worker.Shutdown      the worker stopped and the handler had not returned within the drain timeout
- Polls that fail are retried with exponential backoff (initial_backoff doubling to max_backoff). Polls wait
  for a server that is away (wait-for-ready) and the channel reconnects within max_reconnect_backoff
  (ClientOptions, 0.5 s), so workers are back within a second of a server restart. Report calls wait for the
  server the same way (within call_timeout), so that a task finished during an outage is reported as soon as
  it is back; a report whose call failed with ServiceUnavailable or Timeout is retried (in a later call) for
  up to ``report_timeout``; a report refused because the task is gone (TaskTimedOut, TaskDoesNotExist) is
  logged and dropped.

Thread-safety: handle() before start(); start(), stop() and run() may be called from any thread (run()'s
signal handlers only from the main thread); handlers run up to ``concurrency`` at once.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import select
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

import grpc

from stepflow._heartbeats import Beating, HeartbeatScheduler
from stepflow._report_batcher import Outcome, ReportBatcher, SlotSink
from stepflow.client import Client
from stepflow.errors import StepflowError, error_from_rpc
from stepflow.task_context import CancelReason, TaskContext, TaskError
from stepflow.types import Task
from stepflow.v1 import stepflow_pb2 as pb

# A queue's handler: (context, input) -> output, or an awaitable of it. May raise TaskError.
Handler = Callable[[TaskContext, Any], Any]

_GONE = ("TaskTimedOut", "TaskDoesNotExist")
# Poll threads per queue: two, so that one poll is under way while the other hands out its tasks.
_POLLERS_PER_QUEUE = 2
# The most tasks one PollBatch asks for (the server's bound).
_MAX_POLL_TASKS = 256
# A heartbeat that failed for a reason other than the task being gone is retried this soon (at most), in s.
_HEARTBEAT_RETRY = 1.0


@dataclass
class WorkerOptions:
    # Recorded on each task attempt (and in dead letters). Default: "" = "HOSTNAME:PID".
    identity: str = ""
    # Handlers running at once, over all queues. Default: 1.
    concurrency: int = 1
    # Long-poll wait of each PollBatch, in seconds (the server caps it at 60). Default: 20.
    poll_wait: int = 20
    # Heartbeat interval (s) for a task whose state has no HeartbeatSeconds (heartbeats then only discover
    # cancellation); 0 = none for such tasks. Tasks with HeartbeatSeconds use a third of it. Default: 10.
    default_heartbeat_interval: float = 10.0
    # How long stop() waits for running handlers before cancelling them (SHUTDOWN). Default: 30 s.
    drain_timeout: float = 30.0
    # After that cancellation, how long stop() waits before failing their tasks with Worker.Shutdown.
    # Default: 5 s.
    shutdown_grace: float = 5.0
    # Poll retry backoff, doubling from initial to max; reset by a successful poll. Default: 0.1 s to 2 s.
    initial_backoff: float = 0.1
    max_backoff: float = 2.0
    # How long a Complete/Fail that fails with ServiceUnavailable or Timeout is retried. Default: 60 s.
    report_timeout: float = 60.0
    # Where the worker logs. Default: the "stepflow.worker" logger.
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("stepflow.worker"))


@dataclass
class WorkerStats:
    running: int = 0  # handlers running now
    started: int = 0  # tasks handed to a handler
    completed: int = 0
    failed: int = 0  # reported failed (by a handler or by the worker)
    polls: int = 0  # PollBatch calls that returned (with or without tasks)
    heartbeats: int = 0  # heartbeats answered OK


class _Running:
    """A task between its poll and its report."""

    def __init__(self, task: Task) -> None:
        self.context = TaskContext(task)
        self.beating = Beating(self.context)
        self._claim_lock = threading.Lock()
        self._claimed = False

    def claim_report(self) -> bool:
        """True for the first caller: only one of the handler and a shutdown reports the task."""
        with self._claim_lock:
            first, self._claimed = not self._claimed, True
            return first


class Worker(SlotSink):
    def __init__(self, client: Client, options: Optional[WorkerOptions] = None) -> None:
        self._client = client
        self._options = options or WorkerOptions()
        self._identity = self._options.identity or f"{socket.gethostname()}:{os.getpid()}"
        self._log = self._options.logger
        self._handlers: Dict[str, Handler] = {}
        self._cv = threading.Condition()
        self._stats = WorkerStats()
        self._free_slots = 0  # handler slots not reserved by a poll or taken by a task
        self._queue_share = 1  # slots the polls of one queue may reserve at once
        self._polling: Dict[str, int] = {}  # slots reserved by the polls of each queue now
        # The pollers waiting for a slot, by when they began to wait (oldest first): a poller whose last poll
        # found nothing lets an older waiter of another queue take a freed slot first (_another_queues_turn).
        self._waiting_pollers: Dict[int, str] = {}
        self._next_waiter = 0
        self._in_flight: Set[_Running] = set()
        self._polls: Set[Any] = set()
        self._started = False
        self._stopping = False
        self._stop_requested = threading.Event()
        self._stop_lock = threading.Lock()
        self._stop_result: Optional[bool] = None
        self._pollers: List[threading.Thread] = []
        self._executor: Optional[ThreadPoolExecutor] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._loop_thread: Optional[threading.Thread] = None
        self._reports = ReportBatcher(client, self._identity, self, self._options.initial_backoff,
                                      self._options.max_backoff)
        self._heartbeats: Optional[HeartbeatScheduler] = None
        self._wake_fd = -1  # run()'s wake-up pipe while it waits

    # --- Set-up.

    def handle(self, queue: str, handler: Handler) -> None:
        """Registers the handler of ``queue``. ValueError for an empty queue or one already registered;
        RuntimeError once started."""
        with self._cv:
            if self._started:
                raise RuntimeError("handle: the worker has started")
            if not queue or queue in self._handlers:
                raise ValueError(f"handle: queue '{queue}' is empty or already has a handler")
            self._handlers[queue] = handler

    def handler(self, queue: str) -> Callable[[Handler], Handler]:
        """Decorator form of handle()."""
        def register(fn: Handler) -> Handler:
            self.handle(queue, fn)
            return fn
        return register

    def start(self) -> None:
        """Starts polling every registered queue. RuntimeError when no queue is registered or when it was
        started before (a Worker runs once); ValueError for concurrency < 1."""
        with self._cv:
            if self._started or not self._handlers:
                raise RuntimeError("start: no queue has a handler, or the worker was started before")
            if self._options.concurrency < 1:
                raise ValueError("start: concurrency must be at least 1")
            self._started = True
            self._free_slots = self._options.concurrency
            # Each queue's polls reserve at most its share of the slots, so that the idle long polls of one
            # queue never hold every slot while another queue has tasks.
            self._queue_share = max(1, self._options.concurrency // len(self._handlers))
            self._polling = {queue: 0 for queue in self._handlers}
        self._executor = ThreadPoolExecutor(self._options.concurrency, thread_name_prefix="stepflow-handler")
        self._loop = asyncio.new_event_loop()
        self._loop_thread = threading.Thread(target=self._loop.run_forever, name="stepflow-loop", daemon=True)
        self._loop_thread.start()
        self._heartbeats = HeartbeatScheduler(self._heartbeat)
        # Two poll threads per queue (one when its share is one slot): one poll is under way while the other's
        # tasks are handed to the handlers.
        for queue in self._handlers:
            for i in range(min(_POLLERS_PER_QUEUE, self._queue_share)):
                t = threading.Thread(target=self._poll_loop, args=(queue,), name=f"stepflow-poll-{queue}-{i}",
                                     daemon=True)
                self._pollers.append(t)
                t.start()

    def stats(self) -> WorkerStats:
        with self._cv:
            return WorkerStats(**vars(self._stats))

    # --- Polling.

    def _reserve_slots(self, queue: str, found_nothing: bool) -> int:
        """Every free slot, up to the queue's share (and a PollBatch's bound): one call asks for as many tasks
        as can start now. 0 when stopping. After a poll that found nothing, an older waiter of another queue
        goes first: the thread of that poll would otherwise take the slot it just freed again at once (the
        other pollers are only being woken), and a queue with nothing to do could keep the slot from a queue
        with tasks for as long as that lasts."""
        with self._cv:
            self._next_waiter += 1
            since = self._next_waiter
            self._waiting_pollers[since] = queue
            try:
                self._cv.wait_for(lambda: self._stopping or (
                    self._free_slots > 0 and self._polling[queue] < self._queue_share and
                    not (found_nothing and self._another_queues_turn_locked(queue, since))))
            finally:
                del self._waiting_pollers[since]
            if self._stopping:
                return 0
            n = min(self._free_slots, self._queue_share - self._polling[queue], _MAX_POLL_TASKS)
            self._free_slots -= n
            self._polling[queue] += n
            if self._free_slots > 0:
                self._cv.notify_all()  # a poller that let this one go first may take what is left
            return n

    def _another_queues_turn_locked(self, queue: str, since: int) -> bool:
        """Whether a poller of another queue that began to wait before ``since`` may take a free slot. The
        oldest waiter never defers, so some poller always proceeds. REQUIRES: self._cv held."""
        for waiter, other in self._waiting_pollers.items():  # oldest first (insertion order)
            if waiter >= since:
                return False
            if other != queue and self._polling[other] < self._queue_share:
                return True
        return False

    def _poll_once(self, queue: str, slots: int) -> Tuple[List[Any], Optional[StepflowError]]:
        future = self._client.poll_tasks_future(queue, self._identity, slots, self._options.poll_wait)
        with self._cv:
            self._polls.add(future)
            if self._stopping:
                future.cancel()
        try:
            return list(future.result().tasks), None
        except grpc.FutureCancelledError:
            return [], None
        except grpc.RpcError as e:
            return [], error_from_rpc(e)
        finally:
            with self._cv:
                self._polls.discard(future)

    def _poll_loop(self, queue: str) -> None:
        backoff = self._options.initial_backoff
        failing = False
        found_nothing = False  # the last poll handed out no task
        while True:
            slots = self._reserve_slots(queue, found_nothing)
            if slots == 0:
                return
            tasks, error = self._poll_once(queue, slots)
            if error is not None and error.name == "Cancelled" and self._stopping:
                error = None
            handed = [_Running(Task.from_pb(t, queue)) for t in tasks[:slots]]
            found_nothing = not handed
            with self._cv:
                # The slots of the tasks handed out stay taken until they are reported.
                self._free_slots += slots - len(handed)
                self._polling[queue] -= slots
                self._stats.polls += error is None and not self._stopping
                self._hand_out_locked(handed)
                self._cv.notify_all()
            self._submit(handed)
            if error is not None:
                self._log.warning("poll %s: %s (retrying in %.1f s)", queue, error.message, backoff)
                failing = True
                self._stop_requested.wait(backoff)
                backoff = min(backoff * 2, self._options.max_backoff)
                continue
            if failing and not self._stopping:
                self._log.info("poll %s: connected again", queue)
                failing, backoff = False, self._options.initial_backoff

    # --- Running a task.

    def _call_handler(self, running: _Running) -> Tuple[str, str, str]:
        """("complete", output, "") or ("fail", error, cause)."""
        ctx = running.context
        try:
            value = json.loads(ctx.task.input) if ctx.task.input else {}
        except ValueError as e:
            return "fail", "Worker.InvalidInput", f"the task's input is not JSON: {e}"
        try:
            result = self._handlers[ctx.queue](ctx, value)
            if inspect.isawaitable(result):
                assert self._loop is not None
                result = asyncio.run_coroutine_threadsafe(_await(result), self._loop).result()
        except TaskError as e:
            return "fail", e.error, e.cause
        except BaseException as e:  # noqa: BLE001 - anything a handler raises (SystemExit too) fails its task
            return "fail", "Worker.Exception", str(e) or type(e).__name__
        try:
            return "complete", json.dumps({} if result is None else result, allow_nan=False), ""
        except (TypeError, ValueError) as e:
            return "fail", "Worker.Exception", f"the handler's result is not JSON-serialisable: {e}"

    def _run_task(self, running: _Running) -> None:
        ctx = running.context
        deadline = None
        if ctx.deadline is not None:
            deadline = time.monotonic() + (ctx.deadline.timestamp() - time.time())
        assert self._heartbeats is not None
        self._heartbeats.add(running.beating, self._heartbeat_interval(ctx), deadline)
        try:
            kind, a, b = self._call_handler(running)
        finally:
            self._heartbeats.remove(running.beating)
        if running.claim_report():
            self._report(running, kind, a, b, lambda slot_passed: self._finish(running, slot_passed))

    # SlotSink: a result's call asks for tasks unless the worker stops; the tasks that came back go to the
    # executor (the reporters' slots pass to them).
    def accepting(self) -> bool:
        with self._cv:
            return not self._stopping

    def take_over(self, tasks: List[Any], passed: int) -> None:
        handed = [_Running(Task.from_pb(t, t.queue)) for t in tasks]
        with self._cv:
            self._free_slots -= len(handed) - passed
            self._hand_out_locked(handed)
        self._submit(handed)

    def _hand_out_locked(self, handed: List[_Running]) -> None:
        """Counts ``handed`` as started and in flight. Requires the condition held."""
        self._stats.started += len(handed)
        self._stats.running += len(handed)
        self._in_flight.update(handed)

    def _submit(self, handed: List[_Running]) -> None:
        """Runs each of ``handed`` on the executor."""
        assert self._executor is not None
        for running in handed:
            try:
                self._executor.submit(self._run_task, running)
            except RuntimeError:  # stop() gave up on its drain and shut the executor down meanwhile
                self._log.warning("task of %s came back with a report after the worker stopped; its "
                                  "HeartbeatSeconds or TimeoutSeconds ends the attempt", running.context.execution_arn)
                self._finish(running)

    def _heartbeat_interval(self, ctx: TaskContext) -> float:
        if ctx.heartbeat_seconds > 0:
            return ctx.heartbeat_seconds / 3.0
        return self._options.default_heartbeat_interval

    def _heartbeat(self, tasks: List[Beating]) -> List[Optional[float]]:
        """One heartbeat for each of ``tasks`` (in one report call); acts on the answers and says when the next
        of each is due (None: no more)."""
        answers = self._reports.send_all([pb.TaskReport(heartbeat=pb.HeartbeatTaskRequest(
            task_token=t.context.task_token)) for t in tasks])
        following: List[Optional[float]] = []
        for task, (error, cancelled) in zip(tasks, answers):
            ctx = task.context
            if error is None:
                with self._cv:
                    self._stats.heartbeats += 1
            if error is None and cancelled:
                ctx.cancel(CancelReason.CANCELLED)
                following.append(None)
            elif error is not None and error.name in _GONE:
                ctx.cancel(CancelReason.TASK_GONE)
                following.append(None)
            elif error is not None:
                self._log.warning("heartbeat %s: %s", ctx.execution_arn, error.message)
                following.append(time.monotonic() + min(task.interval, _HEARTBEAT_RETRY))
            else:
                following.append(time.monotonic() + task.interval)
        return following

    def _report(self, running: _Running, kind: str, a: str, b: str, then: Callable[[bool], None]) -> None:
        """Hands the result to the reports and returns; ``then(slot_passed)`` runs (on a sender thread) once it is
        answered: slot_passed is True when a task that came back took the task's slot. A transient failure is
        sent again until report_timeout."""
        token = running.context.task_token
        if kind == "complete":
            report = pb.TaskReport(complete=pb.CompleteTaskRequest(task_token=token, output=a))
        else:
            report = pb.TaskReport(fail=pb.FailTaskRequest(task_token=token, error=a, cause=b))

        def done(outcome: Outcome, slot_passed: bool) -> None:
            error = outcome[0]
            if error is None:
                with self._cv:
                    if kind == "complete":
                        self._stats.completed += 1
                    else:
                        self._stats.failed += 1
            elif error.name in _GONE:
                self._log.info("report of %s dropped: %s", running.context.execution_arn, error.message)
            else:
                self._log.error("report of %s failed: %s", running.context.execution_arn, error.message)
            then(slot_passed)

        def retried(error: StepflowError, delay: float) -> None:
            self._log.info("report of %s: %s (retrying in %.1f s)", running.context.execution_arn, error.message,
                           delay)

        self._reports.submit(report, done, running.context.queue, time.monotonic() + self._options.report_timeout,
                             retried)

    def _report_and_wait(self, running: _Running, kind: str, a: str, b: str) -> None:
        """_report, waiting for the answer (stop()'s Worker.Shutdown failures)."""
        answered = threading.Event()
        self._report(running, kind, a, b, lambda slot_passed: answered.set())
        answered.wait()

    def _finish(self, running: _Running, slot_passed: bool = False) -> None:
        with self._cv:
            self._in_flight.discard(running)
            self._stats.running -= 1
            if not slot_passed:
                self._free_slots += 1
            self._cv.notify_all()

    # --- Stopping.

    def _wait_in_flight(self, timeout: float) -> List[_Running]:
        with self._cv:
            self._cv.wait_for(lambda: not self._in_flight, timeout)
            return list(self._in_flight)

    def stop(self) -> bool:
        """Graceful drain: stops polling (in-flight polls are cancelled), waits up to drain_timeout for
        running handlers to return and be reported, then cancels the rest (SHUTDOWN), waits up to
        shutdown_grace, fails what still runs with Worker.Shutdown and returns. True when every handler
        finished and was reported. Idempotent (later calls return the first one's result); True when never
        started. Not from a handler."""
        with self._stop_lock:
            if self._stop_result is not None:
                return self._stop_result
            with self._cv:
                self._stopping = True
                started = self._started
                for poll in list(self._polls):
                    poll.cancel()
                self._cv.notify_all()
            self._stop_requested.set()
            self._wake()
            if not started:
                self._reports.close()
                self._stop_result = True
                return True
            for t in self._pollers:
                t.join()
            left = self._wait_in_flight(self._options.drain_timeout)
            for running in left:
                running.context.cancel(CancelReason.SHUTDOWN)
            left = self._wait_in_flight(self._options.shutdown_grace) if left else left
            for running in left:
                if running.claim_report():
                    self._report_and_wait(running, "fail", "Worker.Shutdown",
                                          f"the worker stopped and the handler did not return within "
                                          f"{self._options.drain_timeout + self._options.shutdown_grace:.0f} s")
                    self._finish(running)
            if self._executor is not None:
                self._executor.shutdown(wait=False)
            if self._heartbeats is not None:
                self._heartbeats.close()
            self._reports.close()  # after the heartbeats: sends what is pending, then its threads end
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self._loop.stop)
            self._stop_result = not left
            if left:
                self._log.warning("stop: %d task(s) failed with Worker.Shutdown", len(left))
            return self._stop_result

    def run(self) -> bool:
        """start(), then waits until stop() is called or the process receives SIGTERM or SIGINT, then
        stop(); returns stop()'s result. The signal handlers are installed only on the main thread; the
        previous ones are put back as soon as the first signal arrives (a second Ctrl-C acts as before)."""
        # The main thread waits on a pipe that stop() and signals write to. A signal may be delivered to any
        # of gRPC's threads, which does not interrupt the main thread's wait: signal.set_wakeup_fd makes the
        # interpreter's C handler write to the pipe whichever thread it runs on. (Taking a lock in a Python
        # signal handler could also deadlock with the main thread holding it.) The pipe stays open for the
        # worker's life (a Worker runs once), so that a late write never lands on a reused descriptor.
        wake_read, wake_write = os.pipe()
        os.set_blocking(wake_write, False)
        self._wake_fd = wake_write
        previous: Dict[int, Any] = {}
        previous_wakeup_fd: Optional[int] = None
        # Everything is in place before start(): a task can reach a handler the moment the pollers run, and a
        # signal from then on must drain it, not take the default action and kill the process. The wakeup fd
        # goes first, so that a signal arriving as the handlers are installed still wakes the wait below.
        try:
            if threading.current_thread() is threading.main_thread():
                def on_signal(signum: int, frame: Any) -> None:
                    for number, handler in previous.items():
                        signal.signal(number, handler)
                    self._log.info("signal %d: draining", signum)
                previous_wakeup_fd = signal.set_wakeup_fd(wake_write, warn_on_full_buffer=False)
                for sig in (signal.SIGTERM, signal.SIGINT):
                    previous[sig] = signal.signal(sig, on_signal)
            self.start()
            if not self._stop_requested.is_set():
                select.select([wake_read], [], [])
        finally:
            if previous_wakeup_fd is not None:
                signal.set_wakeup_fd(previous_wakeup_fd)
            for number, handler in previous.items():
                signal.signal(number, handler)
        return self.stop()

    def _wake(self) -> None:
        try:
            if self._wake_fd >= 0:
                os.write(self._wake_fd, b"x")
        except OSError:
            pass  # the pipe is full (already woken) or closed (run() returned)


async def _await(awaitable: Any) -> Any:
    return await awaitable


__all__ = ["Worker", "WorkerOptions", "WorkerStats", "Handler"]

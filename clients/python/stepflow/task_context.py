"""What a worker's handler gets besides its input: the task, and its cancellation."""

from __future__ import annotations

import asyncio
import enum
import threading
from datetime import datetime
from typing import Callable, List, Optional

from stepflow.types import Task


class TaskError(Exception):
    """Raised by a handler to fail its task with an ASL error: ``error`` is the name Retry/Catch match on
    ("" = States.TaskFailed), ``cause`` the text that goes with it."""

    def __init__(self, error: str = "", cause: str = "") -> None:
        super().__init__(f"{error}: {cause}" if cause else error)
        self.error = error
        self.cause = cause


class CancelReason(enum.Enum):
    NONE = "none"
    CANCELLED = "cancelled"  # a heartbeat answered cancelled: the execution no longer wants the result
    TASK_GONE = "task gone"  # the server refused the token (TaskTimedOut / TaskDoesNotExist)
    DEADLINE = "deadline"  # the task's deadline (TimeoutSeconds) passed
    SHUTDOWN = "shutdown"  # the worker is stopping and the drain timeout passed


class TaskContext:
    """One task handed to a handler. Thread-safety: every method may be called from any thread."""

    def __init__(self, task: Task) -> None:
        self.task = task
        self._lock = threading.Lock()
        self._event = threading.Event()
        self._reason = CancelReason.NONE
        self._callbacks: List[Callable[[], None]] = []

    @property
    def queue(self) -> str:
        return self.task.queue

    @property
    def task_token(self) -> str:
        return self.task.token

    @property
    def execution_arn(self) -> str:
        return self.task.execution_arn

    @property
    def state_machine_arn(self) -> str:
        return self.task.state_machine_arn

    @property
    def state_name(self) -> str:
        return self.task.state_name

    @property
    def attempt(self) -> int:
        """0 for the first try, n for the n-th retry."""
        return self.task.attempt

    @property
    def deadline(self) -> Optional[datetime]:
        """When TimeoutSeconds runs out; None when the state has none."""
        return self.task.deadline

    @property
    def heartbeat_seconds(self) -> int:
        return self.task.heartbeat_seconds

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    @property
    def cancel_reason(self) -> CancelReason:
        with self._lock:
            return self._reason

    def wait_for_cancellation(self, timeout: Optional[float] = None) -> bool:
        """Blocks until the task is cancelled or ``timeout`` seconds pass; True when cancelled."""
        return self._event.wait(timeout)

    async def wait_for_cancellation_async(self, timeout: Optional[float] = None) -> bool:
        """The same for ``async def`` handlers: does not block the event loop."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()

        def resolve() -> None:
            if not future.done():
                future.set_result(None)

        def wake() -> None:
            loop.call_soon_threadsafe(resolve)

        self.on_cancel(wake)
        try:
            await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            pass
        return self.cancelled

    def on_cancel(self, callback: Callable[[], None]) -> None:
        """Calls ``callback`` once when the task is cancelled: on the thread that cancels it, or at once on
        this thread when it already is. Keep it short and non-blocking."""
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)
                return
        callback()

    def cancel(self, reason: CancelReason) -> None:
        """Cancels the task (the first reason wins) and calls the on_cancel callbacks. The worker calls this."""
        with self._lock:
            if self._event.is_set():
                return
            self._reason = reason
            self._event.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()

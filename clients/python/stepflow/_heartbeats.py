"""Heartbeats of every running task of a worker from one thread (instead of a thread per task), as the C++
worker's HeartbeatScheduler (clients/cpp/worker.cc).

Each task is due at the earlier of its next heartbeat and its deadline. The heartbeats of every task due by
then go out together (one ``beat`` call, which sends them in one report call) and the tasks whose deadline
passed are cancelled (DEADLINE), on the scheduler's thread without its lock; ``remove`` waits while its task
is among them, so that nothing touches a task (or runs its on_cancel callbacks) after its handler returned and
it was removed.

Thread-safety: thread-safe.
"""

from __future__ import annotations

import heapq
import itertools
import math
import threading
import time
from typing import Callable, List, Optional, Tuple

from stepflow.task_context import CancelReason, TaskContext

_NEVER = math.inf


class Beating:
    """A task's heartbeat schedule (guarded by the scheduler's condition)."""

    __slots__ = ("context", "interval", "next_beat", "deadline", "due", "busy", "active")

    def __init__(self, context: TaskContext) -> None:
        self.context = context
        self.interval = 0.0
        self.next_beat = _NEVER  # time.monotonic() of its next heartbeat
        self.deadline = _NEVER  # time.monotonic() of its TimeoutSeconds
        self.due = _NEVER  # of its entry in the heap
        self.busy = False  # its heartbeat (or cancellation) runs now
        self.active = False  # between add and remove


# Sends one heartbeat for each task (together) and answers when the next of each is due (time.monotonic();
# None: no more).
Beat = Callable[[List[Beating]], List[Optional[float]]]


class HeartbeatScheduler:
    def __init__(self, beat: Beat) -> None:
        self._beat = beat
        self._cv = threading.Condition()
        self._heap: List[Tuple[float, int, Beating]] = []  # entries whose due differs from the task's are stale
        self._scheduled = 0  # entries that are not stale
        self._order = itertools.count()
        self._exiting = False
        self._thread = threading.Thread(target=self._loop, name="stepflow-heartbeats", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Ends the thread once its heartbeats under way are answered (without waiting for them)."""
        with self._cv:
            self._exiting = True
            self._cv.notify_all()

    def add(self, task: Beating, interval: float, deadline: Optional[float]) -> None:
        """Heartbeats ``task`` every ``interval`` seconds (0: none) until ``deadline`` (time.monotonic()), when
        it is cancelled (DEADLINE). Nothing is scheduled when it has neither."""
        next_beat = time.monotonic() + interval if interval > 0 else _NEVER
        end = _NEVER if deadline is None else deadline
        if next_beat == _NEVER and end == _NEVER:
            return
        with self._cv:
            task.active = True
            task.interval = interval
            task.next_beat = next_beat
            task.deadline = end
            self._schedule(task)

    def remove(self, task: Beating) -> None:
        """Stops the task's heartbeats; waits while one of them (or its cancellation) is under way."""
        with self._cv:
            if task.active and task.due != _NEVER:
                self._scheduled -= 1
            task.active = False
            task.due = _NEVER
            self._cv.wait_for(lambda: not task.busy)

    def _schedule(self, task: Beating) -> None:
        """Requires the condition held."""
        due = min(task.next_beat, task.deadline)
        task.due = due
        if due == _NEVER:
            return
        earliest = not self._heap or due < self._heap[0][0]
        heapq.heappush(self._heap, (due, next(self._order), task))
        self._scheduled += 1
        if len(self._heap) > 64 + 4 * self._scheduled:  # mostly stale entries (tasks removed before due)
            self._heap = [e for e in self._heap if self._live(e)]
            heapq.heapify(self._heap)
        if earliest:
            self._cv.notify_all()

    @staticmethod
    def _live(entry: Tuple[float, int, Beating]) -> bool:
        return entry[2].active and entry[2].due == entry[0]

    def _loop(self) -> None:
        with self._cv:
            while not self._exiting:
                while self._heap and not self._live(self._heap[0]):
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cv.wait()
                    continue
                now = time.monotonic()
                if self._heap[0][0] > now:
                    self._cv.wait(self._heap[0][0] - now)
                    continue
                beating: List[Beating] = []
                expired: List[Beating] = []
                while self._heap and self._heap[0][0] <= now:
                    entry = heapq.heappop(self._heap)
                    if not self._live(entry):
                        continue
                    task = entry[2]
                    self._scheduled -= 1
                    task.due = _NEVER
                    task.busy = True
                    if now >= task.deadline:
                        task.deadline = task.next_beat = _NEVER  # the server times it out: nothing more to learn
                        expired.append(task)
                    else:
                        beating.append(task)
                self._cv.release()
                following: List[Optional[float]] = []
                try:
                    for task in expired:
                        task.context.cancel(CancelReason.DEADLINE)
                    if beating:
                        following = self._beat(beating)
                finally:
                    self._cv.acquire()
                for i, task in enumerate(beating):
                    task.busy = False
                    nxt = following[i] if i < len(following) else None
                    if task.active:  # not removed meanwhile
                        task.next_beat = _NEVER if nxt is None else nxt
                        self._schedule(task)
                for task in expired:
                    task.busy = False
                self._cv.notify_all()  # a remove() waiting for one of these tasks


__all__ = ["Beating", "HeartbeatScheduler"]

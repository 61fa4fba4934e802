"""One background task at a time, with progress and cancel; results come back on the main thread.

Why: the slow steps (Anny's first build, 1-2 min; an avatar, 1-4 s; reading and writing PLY files)
must not freeze the window, while every Dear PyGui and OpenGL call has to stay on the main thread
(the GL context lives there). So a task function only computes, in a worker thread, and reports
progress through its `TaskContext`; the main loop calls `TaskRunner.poll()` every frame, which hands
the result (or a one-line failure) to the task's callbacks on the main thread.

Cancel is cooperative: the task stops at its next `report`/`check`. A step that cannot be
interrupted (Anny's build) runs to its end first; the runner stays busy until then, so two heavy
builds never compete for the two cores.
"""
from __future__ import annotations

import dataclasses
import sys
import threading
import time
import traceback
from typing import Any, Callable

from core.errors import AvatarStudioError


class Cancelled(Exception):
    """Raised inside a task by `TaskContext.check` once the user asked to cancel it."""


class TaskContext:
    """What a task function sees: report progress, and check for cancel between steps."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._progress = 0.0
        self._message = ""

    def report(self, progress: float, message: str | None = None) -> None:
        """Progress 0..1 and, optionally, what the task is doing now; stops here if cancelled."""
        self.check()
        with self._lock:
            self._progress = min(1.0, max(0.0, float(progress)))
            if message is not None:
                self._message = message

    def request_cancel(self) -> None:
        self._cancel.set()

    def check(self) -> None:
        if self._cancel.is_set():
            raise Cancelled()

    def snapshot(self) -> tuple[float, str, bool]:
        with self._lock:
            return self._progress, self._message, self._cancel.is_set()


@dataclasses.dataclass(frozen=True)
class TaskStatus:
    """The running task as the UI shows it."""

    name: str
    kind: str  # what the task is for ("generate", "export", ...): the panel that started it shows its progress
    progress: float
    message: str
    elapsed_s: float
    cancelling: bool


@dataclasses.dataclass(frozen=True)
class TaskFailure:
    """Why a task produced no result, in one line (a cancel is not an error)."""

    task: str
    message: str
    cancelled: bool


@dataclasses.dataclass
class _Task:
    name: str
    kind: str
    context: TaskContext
    on_done: Callable[[Any], None]
    on_failure: Callable[[TaskFailure], None]
    started: float
    thread: threading.Thread | None = None
    outcome: tuple[bool, Any] | None = None  # (succeeded, result or TaskFailure), set by the worker


def one_line(error: BaseException) -> str:
    """A user-facing line for an exception: AvatarStudioError as is, others with their type."""
    text = " ".join(str(error).split())
    if isinstance(error, AvatarStudioError):
        return text
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class TaskRunner:
    """Runs at most one task; `poll()` on the main thread delivers its outcome."""

    def __init__(self) -> None:
        self._task: _Task | None = None

    def submit(
        self,
        name: str,
        work: Callable[[TaskContext], Any],
        on_done: Callable[[Any], None],
        on_failure: Callable[[TaskFailure], None],
        kind: str = "",
    ) -> bool:
        """Start `work(context)` in a worker thread; False (and nothing started) while another task runs."""
        if self._task is not None:
            return False
        task = _Task(name, kind, TaskContext(), on_done, on_failure, time.monotonic())
        task.thread = threading.Thread(target=self._run, args=(task, work), name=f"task: {name}", daemon=True)
        self._task = task
        task.thread.start()
        return True

    @staticmethod
    def _run(task: _Task, work: Callable[[TaskContext], Any]) -> None:
        try:
            task.outcome = (True, work(task.context))
        except Cancelled:
            task.outcome = (False, TaskFailure(task.name, f"{task.name}: cancelled", cancelled=True))
        except Exception as error:  # any failure becomes one line for the status bar
            if not isinstance(error, AvatarStudioError):
                traceback.print_exc(file=sys.stderr)
            task.outcome = (False, TaskFailure(task.name, f"{task.name} failed: {one_line(error)}", cancelled=False))

    def cancel(self) -> None:
        if self._task is not None:
            self._task.context.request_cancel()

    def status(self) -> TaskStatus | None:
        task = self._task
        if task is None:
            return None
        progress, message, cancelling = task.context.snapshot()
        return TaskStatus(task.name, task.kind, progress, message or task.name, time.monotonic() - task.started,
                          cancelling)

    def poll(self) -> None:
        """Main thread, once per frame: run the finished task's callback."""
        task = self._task
        if task is None or task.thread.is_alive():
            return
        self._task = None
        succeeded, value = task.outcome or (False, TaskFailure(task.name, f"{task.name} stopped unexpectedly", False))
        if succeeded and task.context.snapshot()[2]:  # finished its last step after a cancel
            succeeded, value = False, TaskFailure(task.name, f"{task.name}: cancelled", cancelled=True)
        (task.on_done if succeeded else task.on_failure)(value)

    def wait(self, timeout_s: float) -> bool:
        """Block until the running task ends (for scripts and tests); True when none is left running."""
        task = self._task
        if task is not None:
            task.thread.join(timeout_s)
            return not task.thread.is_alive()
        return True

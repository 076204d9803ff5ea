"""CPU-bound work spread over worker processes, results in input order.

A large ingest reads, parses and fingerprints article files on the machine's
other cores while its one SQLite connection files the results: the two halves
of the work then overlap instead of taking turns on one core.

Workers only compute; every write stays with the caller, so killing the
caller at any moment leaves the database exactly as consistent as before.
Workers also end on their own when the caller dies (nothing else would tell
them: they would wait for work forever).
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import threading
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Generic, Iterable, Iterator, TypeVar

from .. import logs

log = logging.getLogger(__name__)
CHUNK = 50  # tasks sent to a worker as one message: one pickle, not fifty
# Reader processes of a pass (articles, feed documents).  A reader does an
# article in ~0.3 ms and the one writer files it in ~0.5 ms, so one reader
# already keeps up and a second is headroom for slow files; more would only
# wait (each costs ~60 MB), however many cores there are.
MAX_READERS = 2
AHEAD = 4  # chunks in flight per worker: enough to keep it busy, little memory
Task = TypeVar("Task")
Result = TypeVar("Result")

# The job a worker process runs, made once per worker by make(*args).
_job: Callable[[Any], Any] | None = None


def spare_cores() -> int:
    """Cores this process may use besides the one it runs on."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return cores - 1


def ordered_map(make: Callable[..., Callable[[Task], Result]], args: tuple[Any, ...], tasks: Iterable[Task],
                workers: int) -> Iterator[Result]:
    """make(*args)(task) for each task, in order, computed in `workers`
    processes and never more than AHEAD chunks per worker ahead of the
    consumer, so memory stays flat however many tasks there are.

    `make` and `args` must pickle (a module-level class or function, plain
    data).  If the pool breaks (a worker killed by the OOM killer, say), the
    remaining tasks are done in this process instead."""
    remaining = iter(tasks)
    chunks = iter(lambda: list(itertools.islice(remaining, CHUNK)), [])
    pool = _executor(make, args, workers)
    job: Callable[[Task], Result] | None = None  # make(*args) in this process, once the pool has broken

    def submit(chunk: list[Task]) -> Future[list[Result]] | None:
        try:
            return pool.submit(_run, chunk)
        except BrokenProcessPool:
            return None

    try:
        pending = deque((chunk, submit(chunk)) for chunk in itertools.islice(chunks, AHEAD * workers))
        while pending:
            chunk, future = pending.popleft()
            if (following := next(chunks, None)) is not None:
                pending.append((following, submit(following)))
            results: Iterable[Result] | None
            try:
                results = future.result() if future else None
            except BrokenProcessPool:
                results = None
            if results is None:
                if job is None:
                    log.warning("worker process died; doing the rest of the work in this process")
                    job = make(*args)
                results = map(job, chunk)
            yield from results
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class Workers(Generic[Task, Result]):
    """make(*args)(task) computed in `workers` processes, for tasks handed in
    one at a time from any number of threads (each waits for its result, the
    GIL free meanwhile).  The processes start with the first task, so none
    start if none comes; if the pool breaks, tasks are done in the calling
    thread instead.  `make` and `args` must pickle, as for ordered_map."""

    def __init__(self, make: Callable[..., Callable[[Task], Result]], args: tuple[Any, ...], workers: int):
        self.make, self.args, self.workers = make, args, workers
        # Made at the first task: even an idle pool starts a process of its
        # own (multiprocessing's resource tracker).
        self.pool: ProcessPoolExecutor | None = None
        self.job: Callable[[Task], Result] | None = None  # make(*args) here, once the pool has broken
        self.lock = threading.Lock()

    def __call__(self, task: Task) -> Result:
        with self.lock:
            if self.pool is None:
                self.pool = _executor(self.make, self.args, self.workers)
        try:
            results: list[Result] = self.pool.submit(_run, [task]).result()
            return results[0]
        except BrokenProcessPool:
            with self.lock:
                if self.job is None:
                    log.warning("worker process died; doing the rest of the work in this process")
                    self.job = self.make(*self.args)
            return self.job(task)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


def _executor(make: Callable[..., Callable[[Any], Any]], args: tuple[Any, ...], workers: int) -> ProcessPoolExecutor:
    # Spawned, not forked: this process may hold threads (the scheduler's) and
    # an open database, which a fork would copy mid-use.  A fork server
    # would save the workers' start-up (~0.3 s, overlapped with work here) but
    # stays behind, idle, for the life of the process.
    level = logging.getLevelName(logging.getLogger().getEffectiveLevel())
    return ProcessPoolExecutor(workers, multiprocessing.get_context("spawn"), _start_worker, (make, args, level))


def _start_worker(make: Callable[..., Callable[[Any], Any]], args: tuple[Any, ...], log_level: str) -> None:
    global _job
    # A spawned process starts with no logging set up: what the work logs
    # would be lost (below warnings) or printed bare.
    logs.setup(log_level)
    _job = make(*args)
    threading.Thread(target=_exit_with_caller, daemon=True).start()


def _exit_with_caller() -> None:
    # The caller's end of a pipe closes when it dies, however it dies (a
    # SIGKILL included), and join() returns.
    parent = multiprocessing.parent_process()
    assert parent is not None  # this runs in a worker, which has one
    parent.join()
    os._exit(1)


def _run(chunk: list[Any]) -> list[Any]:
    job = _job
    assert job is not None  # set by _start_worker in every worker
    return [job(task) for task in chunk]

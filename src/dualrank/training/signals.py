"""SIGTERM or SIGINT during training: finish the step, checkpoint, exit 128 + the signal (143 or
130); and leave the process's own handlers as they were.

SLURM preempts a job with SIGTERM (and SIGKILL a grace period later); the trainer then stops at
the next step, saves a checkpoint and exits with 128 + SIGTERM, so that Snakemake's retry
resumes it. Ctrl-C (SIGINT) is handled the same way (exit 130, no KeyboardInterrupt
traceback), so that a hand-run job keeps the step it reached. The handlers are the trainer's
only while it runs: a process that trained a model in-process (a test, a notebook) ends on
SIGTERM, and is interrupted by SIGINT, again afterwards, whatever way the run ended.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

SIGTERM_STATUS = 128 + signal.SIGTERM
SIGINT_STATUS = 128 + signal.SIGINT
HANDLED = (signal.SIGTERM, signal.SIGINT)


@contextmanager
def on_stop_signals(callback: Callable[[int], None]) -> Iterator[None]:
    """While inside, SIGTERM and SIGINT call ``callback(signum)`` instead of ending the process;
    on leaving, the previous handlers come back. Off the main thread (where Python receives no
    signal and may set no handler) nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, lambda signum, _frame: callback(signum)) for s in HANDLED}
    try:
        yield
    finally:
        for s, handler in previous.items():
            # None: a handler installed outside Python, which Python cannot put back; the
            # default action is the nearest.
            signal.signal(s, signal.SIG_DFL if handler is None else handler)


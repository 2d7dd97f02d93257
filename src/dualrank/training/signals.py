"""SIGTERM during training: finish the step, checkpoint, exit 143; and leave the process's own
handler as it was.

SLURM preempts a job with SIGTERM (and SIGKILL a grace period later); the trainer then stops at
the next step, saves a checkpoint and exits with 128 + SIGTERM, so that Snakemake's retry
resumes it. The handler is the trainer's only while it runs: a process that trained a model
in-process (a test, a notebook) ends on SIGTERM again afterwards, whatever way the run ended.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

SIGTERM_STATUS = 128 + signal.SIGTERM


@contextmanager
def on_sigterm(callback: Callable[[], None]) -> Iterator[None]:
    """While inside, SIGTERM calls ``callback`` instead of ending the process; on leaving, the
    previous handler comes back. Off the main thread (where Python receives no signal and may
    set no handler) nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, lambda *_: callback())
    try:
        yield
    finally:
        # None: a handler installed outside Python, which Python cannot put back; the default
        # action is the nearest.
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)

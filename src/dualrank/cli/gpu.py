"""Run a command on exactly the GPUs its Snakemake job was given.

    dualrank gpu --gpus N [--lock-dir DIR] [--timeout SECONDS] -- COMMAND [ARG ...]

Snakemake counts GPUs (`--resources gpu=2`) but never tells a job which devices are its own,
so two one-GPU jobs on a workstation would both land on device 0. This wrapper claims N free
devices with an exclusive lock file per device, sets CUDA_VISIBLE_DEVICES to them and execs
the command, which inherits the locks: the kernel releases them when the job's process ends,
however it ends (a SIGKILL included). Under SLURM (SLURM_JOB_ID set) the allocation already
is the job's own, with CUDA_VISIBLE_DEVICES set by slurmd, and is passed through. A job with
`--gpus 0` sees no device at all.

The devices: the wrapper's CUDA_VISIBLE_DEVICES if set (restrict Snakemake to some GPUs with
`CUDA_VISIBLE_DEVICES=2,3 snakemake ...`), else those `nvidia-smi -L` lists.
"""

from __future__ import annotations

import argparse
import fcntl
import logging
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from dualrank.cli.args import UsageError, option, parse
from dualrank.cli.logs import entry_point

log = logging.getLogger("dualrank.cli.gpu")

DEFAULT_LOCK_DIR = Path(tempfile.gettempdir()) / "dualrank-gpu-locks"


def machine_devices(env) -> list[str]:
    """The device ids this process may hand out, in CUDA's notation (indices or UUIDs)."""
    given = env.get("CUDA_VISIBLE_DEVICES")
    if given is not None:
        return [d.strip() for d in given.split(",") if d.strip()]
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=60)
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return []
    return [str(i) for i, line in enumerate(out.stdout.splitlines()) if line.startswith("GPU ")]


def _try_lock(path: Path):
    # Read-only: another user's job can lock a file this user created.
    fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def claim(n: int, devices: list[str], lock_dir: Path, timeout: float, poll: float = 0.5):
    """Lock n of the devices; returns (device ids, lock fds). Waits while all are held."""
    if n > len(devices):
        raise SystemExit(f"dualrank gpu: the job asks for {n} GPU(s), {len(devices)} are available here "
                         f"({','.join(devices) or 'none'}); lower the rule's gpu resource in config.yaml")
    lock_dir.mkdir(parents=True, exist_ok=True)
    if lock_dir.stat().st_uid == os.getuid():
        lock_dir.chmod(0o1777)  # other users' jobs on the same workstation share the locks
    start = last_note = time.monotonic()
    while True:
        held = []
        for dev in devices:
            fd = _try_lock(lock_dir / f"gpu-{dev.replace('/', '_')}.lock")
            if fd is not None:
                held.append((dev, fd))
                if len(held) == n:
                    return [d for d, _ in held], [f for _, f in held]
        for _, fd in held:
            os.close(fd)
        waited = time.monotonic() - start
        if waited > timeout:
            raise SystemExit(f"dualrank gpu: no {n} free GPU(s) of {','.join(devices)} after {waited:.0f} s "
                             f"(locks in {lock_dir}); is --resources gpu=... more than this machine has?")
        if time.monotonic() - last_note > 30:
            log.info("waiting for %d free GPU(s) of %s (%.0f s so far)", n, ",".join(devices), waited)
            last_note = time.monotonic()
        time.sleep(poll)


def job_environment(n: int, env, lock_dir: Path, timeout: float):
    """The environment a job with n GPUs runs in, the lock fds it must keep, and a note for its log."""
    env = dict(env)
    if n == 0:
        env["CUDA_VISIBLE_DEVICES"] = ""
        return env, [], "no GPU: CUDA_VISIBLE_DEVICES=''"
    if "SLURM_JOB_ID" in env:
        given = env.get("CUDA_VISIBLE_DEVICES")
        if given is None or len(machine_devices(env)) < n:
            # Some clusters bind GPUs without CUDA_VISIBLE_DEVICES (cgroups only): say so, go on.
            log.warning("SLURM job %s asks for %d GPU(s) but CUDA_VISIBLE_DEVICES=%r; does it request --gpus?",
                        env["SLURM_JOB_ID"], n, given)
        return env, [], f"CUDA_VISIBLE_DEVICES={given} from SLURM job {env['SLURM_JOB_ID']}"
    ids, fds = claim(n, machine_devices(env), lock_dir, timeout)
    env["CUDA_VISIBLE_DEVICES"] = ",".join(ids)
    return env, fds, f"CUDA_VISIBLE_DEVICES={env['CUDA_VISIBLE_DEVICES']} (locks in {lock_dir})"


@dataclass(frozen=True)
class Args:
    gpus: int = option("GPUs the job was given (its gpu resource)", metavar="N")
    command: list[str] = option("the command to run, after --", positional=True, nargs=argparse.REMAINDER)
    lock_dir: Path | None = option("where the per-device lock files live (default: $DUALRANK_GPU_LOCK_DIR, else "
                                   f"{DEFAULT_LOCK_DIR})", None, metavar="DIR")
    timeout: float = option("seconds to wait for free GPUs", 3600, metavar="SECONDS")

    def __post_init__(self):
        if not self.cmd:
            raise UsageError("no command given after --")
        if self.gpus < 0:
            raise UsageError(f"--gpus must be >= 0, got {self.gpus}")

    @property
    def cmd(self) -> list[str]:
        """The command, without the -- before it (argparse keeps it in some Python versions)."""
        return self.command[1:] if self.command[:1] == ["--"] else self.command


USAGE = "dualrank gpu --gpus N [--lock-dir DIR] [--timeout SECONDS] -- COMMAND [ARG ...]"


@entry_point
def main(argv: list[str] | None = None) -> None:
    a = parse(Args, argv, "gpu", __doc__, usage=USAGE)
    lock_dir = a.lock_dir or Path(os.environ.get("DUALRANK_GPU_LOCK_DIR", DEFAULT_LOCK_DIR))
    env, fds, note = job_environment(a.gpus, os.environ, lock_dir, a.timeout)
    log.info("%s; running %s", note, a.cmd[0])
    for fd in fds:
        os.set_inheritable(fd, True)  # the command holds the locks until it ends
    os.execvpe(a.cmd[0], a.cmd, env)


if __name__ == "__main__":
    main()

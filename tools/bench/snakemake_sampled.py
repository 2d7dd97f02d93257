"""``python -m tools.bench.snakemake_sampled ARGS``: Snakemake (``ARGS`` as its command line) with
each job's ``benchmark:`` sampled every 0.5 s for the whole job.

Snakemake samples a job's memory every 0.5 s for its first ~15 s and every 30 s after that, so
the peak RSS in a benchmark file can miss a peak of a longer job (a job that held 800 MB for
3 s at its 20th second was recorded at 16 MB). The scale rehearsal (:mod:`tools.bench.scale`)
reads peaks from those files, so it runs Snakemake through this module: the shell jobs of the
local executor are benchmarked in this process, where the timer's schedule is replaced.
"""

import sys

import snakemake.benchmark as _benchmark


def _every_half_second(self) -> None:
    self._timer = _benchmark.DaemonTimer(_benchmark.BENCHMARK_INTERVAL_SHORT, self._action)
    self._timer.start()


def main() -> int:
    _benchmark.ScheduledPeriodicTimer._schedule = _every_half_second
    from snakemake.cli import main as snakemake_main

    return snakemake_main()


if __name__ == "__main__":
    sys.exit(main())

"""Logging set-up shared by every entry point (Snakemake redirects stderr to logs/)."""

import logging
import sys


# Libraries whose INFO lines read as trouble in a job's log: faiss's loader reports each CPU
# build it could not load ("... due to: ModuleNotFoundError ...") before the one it uses.
QUIET = ("faiss.loader",)


def setup_logging(level: int = logging.INFO) -> None:
    # One timestamp format, date included: a long job's log spans days.
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%Y-%m-%d %H:%M:%S",
        force=True,
    )
    for name in QUIET:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))


def entry_point(main):
    """Run ``main`` as a command: bad input prints its message (file, line or key) and exits 2;
    Ctrl-C (SIGINT) outside a handler of its own (training has one) exits 130 without a traceback.

    Used as a decorator on each ``dualrank.cli`` module's ``main``."""
    from dualrank.data.io import InputError

    def wrapped(argv=None):
        setup_logging()
        try:
            return main(argv)
        except InputError as e:
            logging.getLogger("dualrank").error("%s", e)
            sys.exit(2)
        except KeyboardInterrupt:
            logging.getLogger("dualrank").error("interrupted (SIGINT); outputs are written atomically, "
                                                "none was left half-written")
            sys.exit(130)

    return wrapped

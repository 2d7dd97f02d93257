"""Logging set-up shared by every entry point (Snakemake redirects stderr to logs/)."""

import logging
import sys


def setup_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        force=True,
    )


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

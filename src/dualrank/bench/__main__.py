"""``python -m dualrank.bench NAME [ARGS]``: run one benchmark (``aggregate``)."""

import sys

from . import aggregate

BENCHES = {"aggregate": aggregate.main}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in BENCHES:
        sys.exit(f"usage: python -m dualrank.bench {{{','.join(BENCHES)}}} [ARGS]")
    sys.exit(BENCHES[sys.argv[1]](sys.argv[2:]))

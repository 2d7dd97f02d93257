"""``python -m dualrank.cli COMMAND ...`` is ``dualrank COMMAND ...``."""

import sys

from dualrank.cli import main

sys.exit(main())

"""``python -m tabsyn.cli``, as ``python -m tabsyn``."""

import sys

from tabsyn.cli import main

sys.exit(main())

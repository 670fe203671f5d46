import sys

from tabsyn.cli import main

sys.exit(main())

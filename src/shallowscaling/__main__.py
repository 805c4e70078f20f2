"""``python -m shallowscaling``: the same command line as the ``shallowscaling`` script."""

import sys

from .cli import main

sys.exit(main())

"""``python -m shallowscaling.cli``: the same command line as the ``shallowscaling`` script."""

import sys

from . import main

sys.exit(main())

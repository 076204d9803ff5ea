"""`python -m feedhub.cli`: the command line, as the `feedhub` script runs it."""

import sys

from . import main

sys.exit(main())

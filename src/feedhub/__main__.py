"""`python -m feedhub`: the `feedhub` command, for a virtual environment that is not activated."""

import sys

from .cli import main

sys.exit(main())

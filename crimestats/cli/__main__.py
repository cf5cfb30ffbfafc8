"""``python -m crimestats.cli``: the ``crimestats`` command."""

import sys

from . import main

sys.exit(main())

"""``python -m crimestats``: the ``crimestats`` command."""

import sys

from .cli import main

sys.exit(main())

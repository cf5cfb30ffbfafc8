"""The ``crimestats`` command (filled in by the workflow issue)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``crimestats`` command."""
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`crimestats.errors` for `_cli_changepoint` (moved unchanged; it imports ``.errors``). To
remove once that module's imports name the package's own."""

from ..errors import InputError

__all__ = ["InputError"]

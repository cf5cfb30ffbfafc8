"""Time labels for `_cli_changepoint` (moved unchanged; it imports ``._time``): the names of
`crimestats._time` it uses. To remove once that module's imports name the package's own."""

from .._time import check_time_axis, json_time

__all__ = ["check_time_axis", "json_time"]

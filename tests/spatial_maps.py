"""A small geography shared by the spatial HB tests: a 4 x 5 grid, a separate 3 x 3 grid and
an island (30 areas, three components)."""

from __future__ import annotations


def grid_pairs(rows: int, cols: int, offset: int = 0) -> list[tuple[int, int]]:
    """Rook neighbour pairs of a ``rows x cols`` grid numbered from ``offset``."""
    pairs = []
    for r in range(rows):
        for c in range(cols):
            i = offset + r * cols + c
            if c + 1 < cols:
                pairs.append((i, i + 1))
            if r + 1 < rows:
                pairs.append((i, i + cols))
    return pairs


M = 30
PAIRS = grid_pairs(4, 5) + grid_pairs(3, 3, 20)       # area 29 is an island

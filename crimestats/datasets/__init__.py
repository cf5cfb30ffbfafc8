"""Bundled real data (with licences) and simulators with known truth."""

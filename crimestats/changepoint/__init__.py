"""Change-point detection and attribution of changes to incidence, reporting or recording."""

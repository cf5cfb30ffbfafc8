"""Unit-level small-area models: the nested-error (Battese–Harter–Fuller) EBLUP (`unit_level`)."""

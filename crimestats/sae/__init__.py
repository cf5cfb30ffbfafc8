"""Small-area estimation: Fay–Herriot (EBLUP and hierarchical Bayes) and its extensions."""

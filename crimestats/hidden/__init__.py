"""Hidden demand: reporting rates, the dark figure, and multiple-systems estimation."""

"""One module per paper figure, plus :mod:`.style`; tables in, matplotlib Figure out."""

"""ATBD 4.2: Sentinel-2 to PP features, the RMSD between years, the change mask."""

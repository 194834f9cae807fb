"""ATBD 4.2.4, 4.5: aggregation to R and the change layers."""

"""The product catalogue (names, encodings, legends), publishing and the report."""

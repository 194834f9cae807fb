"""The provider's steps without QGIS: spec (what a step is) and catalogue (every step)."""

"""The exact per-pixel kernels: weighted quantiles, the NDVI model fit, their thread pool."""

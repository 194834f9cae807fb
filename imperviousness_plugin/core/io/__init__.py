"""Reading and writing rasters (one masked read, one atomic write) and Sentinel-2 acquisitions."""

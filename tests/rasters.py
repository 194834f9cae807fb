"""Small GeoTIFF writers shared by the tests (hand-made arrays on an EPSG:3035 grid)."""

import numpy as np
from osgeo import gdal, gdal_array, osr

EEA_ORIGIN = (4700000.0, 1460000.0)


def epsg_wkt(code):
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(code)
    return srs.ExportToWkt()


def write_raster(path, array, nodata=None, origin=EEA_ORIGIN, pixel=10.0, crs_wkt=None,
                 dtype=None, descriptions=None):
    """Write a (h, w) or (bands, h, w) array as a plain GeoTIFF; returns the path as str."""
    array = np.asarray(array if dtype is None else np.asarray(array).astype(dtype))
    bands = array[np.newaxis] if array.ndim == 2 else array
    gdal_type = gdal_array.NumericTypeCodeToGDALTypeCode(bands.dtype)
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), bands.shape[2], bands.shape[1],
                                                   bands.shape[0], gdal_type)
    dataset.SetGeoTransform((origin[0], pixel, 0.0, origin[1], 0.0, -pixel))
    dataset.SetProjection(crs_wkt or epsg_wkt(3035))
    for index, values in enumerate(bands):
        band = dataset.GetRasterBand(index + 1)
        if nodata is not None:
            band.SetNoDataValue(nodata)
        if descriptions:
            band.SetDescription(descriptions[index])
        band.WriteArray(values)
    dataset = None
    return str(path)

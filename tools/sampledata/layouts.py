"""Writing acquisitions: JPEG 2000 and GeoTIFF bands, in the SAFE, zipped SAFE and plain folder
layouts, with MTD_MSIL2A.xml."""

import json
import os
import shutil
import uuid
import zipfile

import numpy as np
from osgeo import gdal

from imperviousness_plugin.core.errors import ImperviousnessError
from imperviousness_plugin.core.io import profiles
from imperviousness_plugin.core.io.raster import Grid, RasterWriter, Window
from .constants import BANDS, BANDS_10M, BANDS_20M, BOA_ADD_OFFSET, LAYOUTS, QUANTIFICATION, RELATIVE_ORBIT
from .acquisitions import baseline_has_offset

gdal.UseExceptions()


_GDAL_TYPES = {np.dtype("uint8"): gdal.GDT_Byte, np.dtype("uint16"): gdal.GDT_UInt16,
               np.dtype("float32"): gdal.GDT_Float32}


def _mem_dataset(array, geotransform, crs_wkt):
    dtype = _GDAL_TYPES[array.dtype]
    bands = 1 if array.ndim == 2 else array.shape[0]
    h, w = array.shape[-2:]
    dataset = gdal.GetDriverByName("MEM").Create("", w, h, bands, dtype)
    dataset.SetGeoTransform(tuple(float(v) for v in geotransform))
    dataset.SetProjection(crs_wkt)
    for index in range(bands):
        dataset.GetRasterBand(index + 1).WriteArray(array if array.ndim == 2 else array[index])
    return dataset


def jp2_bytes(array, geotransform, crs_wkt):
    """Lossless JPEG 2000 (GDAL JP2OpenJPEG, reversible) with embedded georeferencing."""
    source = _mem_dataset(array, geotransform, crs_wkt)
    path = f"/vsimem/sampledata_{uuid.uuid4().hex}.jp2"
    try:
        gdal.GetDriverByName("JP2OpenJPEG").CreateCopy(
            path, source, options=["REVERSIBLE=YES", "QUALITY=100", "YCC=NO"]).FlushCache()
        handle = gdal.VSIFOpenL(path, "rb")
        gdal.VSIFSeekL(handle, 0, 2)
        length = gdal.VSIFTellL(handle)
        gdal.VSIFSeekL(handle, 0, 0)
        data = gdal.VSIFReadL(1, length, handle)
        gdal.VSIFCloseL(handle)
        check = gdal.Open(path)
        if check is None or not np.array_equal(check.ReadAsArray(), array) \
                or check.GetGeoTransform() != tuple(float(v) for v in geotransform):
            raise ImperviousnessError("JPEG 2000 encoding was not lossless.")
        check = None
    finally:
        for name in gdal.ReadDir("/vsimem/") or []:
            if name.startswith(os.path.basename(path)):
                gdal.Unlink("/vsimem/" + name)
    return bytes(data)


def write_gtiff(path, array, geotransform, crs_wkt, nodata=None, description=None, zlevel=None):
    """Write one band as a tiled, DEFLATE-compressed GeoTIFF (the SAMPLE profile, the plugin's
    one writer; `zlevel` trades DEFLATE's speed against size)."""
    h, w = array.shape
    grid = Grid(crs_wkt, tuple(float(v) for v in geotransform), w, h)
    with RasterWriter(path, grid, 1, array.dtype, nodata, [description] if description else None,
                      zlevel=zlevel, profile=profiles.SAMPLE) as writer:
        writer.write(Window(0, 0, w, h), array)
    return str(path)


def _safe_members(acq):
    """(relative path, bytes) of every file of the SAFE product, sorted."""
    granule = f"GRANULE/{acq.granule_name}/IMG_DATA"
    members = []
    for band in BANDS_10M:
        members.append((f"{granule}/R10m/{acq.tile}_{acq.sensing_time}_{band}_10m.jp2",
                        acq.bands[band], acq.geotransform_10m))
    for band in BANDS_20M + ("SCL",):
        array = acq.scl if band == "SCL" else acq.bands[band]
        members.append((f"{granule}/R20m/{acq.tile}_{acq.sensing_time}_{band}_20m.jp2",
                        array, acq.geotransform_20m))
    files = [(relative, jp2_bytes(array, gt, acq.crs_wkt)) for relative, array, gt in members]
    image_files = [relative[:-4] for relative, _, _ in members]
    files.append(("MTD_MSIL2A.xml", mtd_msil2a_xml(acq, image_files).encode("utf-8")))
    return sorted(files)


def mtd_msil2a_xml(acq, image_files=()):
    """A minimal but realistic MTD_MSIL2A.xml (processing baseline, quantification, offsets)."""
    start = f"{acq.date:%Y-%m-%d}T{acq.sensing_time[9:11]}:{acq.sensing_time[11:13]}:" \
            f"{acq.sensing_time[13:15]}.024Z"
    spacecraft = "Sentinel-2A" if acq.spacecraft == "S2A" else "Sentinel-2B"
    band_names = ("B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B10", "B11",
                  "B12")
    lines = [
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>',
        '<n1:Level-2A_User_Product xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/'
        'User_Product_Level-2A.xsd" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-2A.xsd">',
        "  <n1:General_Info>",
        "    <Product_Info>",
        f"      <PRODUCT_START_TIME>{start}</PRODUCT_START_TIME>",
        f"      <PRODUCT_STOP_TIME>{start}</PRODUCT_STOP_TIME>",
        f"      <PRODUCT_URI>{acq.product_name}.SAFE</PRODUCT_URI>",
        "      <PROCESSING_LEVEL>Level-2A</PROCESSING_LEVEL>",
        "      <PRODUCT_TYPE>S2MSI2A</PRODUCT_TYPE>",
        f"      <PROCESSING_BASELINE>{acq.baseline}</PROCESSING_BASELINE>",
        f"      <GENERATION_TIME>{acq.date:%Y-%m-%d}T12:00:00.000000Z</GENERATION_TIME>",
        "      <PREVIEW_IMAGE_URL>Not applicable</PREVIEW_IMAGE_URL>",
        "      <PREVIEW_GEO_INFO>Not applicable</PREVIEW_GEO_INFO>",
        f'      <Datatake datatakeIdentifier="G{acq.spacecraft}_{acq.sensing_time}_'
        f'{acq.absolute_orbit:06d}_N{acq.baseline}">',
        f"        <SPACECRAFT_NAME>{spacecraft}</SPACECRAFT_NAME>",
        "        <DATATAKE_TYPE>INS-NOBS</DATATAKE_TYPE>",
        f"        <DATATAKE_SENSING_START>{start}</DATATAKE_SENSING_START>",
        f"        <SENSING_ORBIT_NUMBER>{int(RELATIVE_ORBIT[1:])}</SENSING_ORBIT_NUMBER>",
        "        <SENSING_ORBIT_DIRECTION>DESCENDING</SENSING_ORBIT_DIRECTION>",
        "      </Datatake>",
        '      <Query_Options completeSingleTile="true">',
        "        <PRODUCT_FORMAT>SAFE_COMPACT</PRODUCT_FORMAT>",
        "      </Query_Options>",
        "      <Product_Organisation>",
        "        <Granule_List>",
        f'          <Granule datastripIdentifier="S2_OPER_MSI_L2A_DS_SYNT_{acq.date:%Y%m%d}'
        f'T120000_S{acq.sensing_time}_N{acq.baseline}" granuleIdentifier="S2_OPER_MSI_L2A_TL_'
        f'SYNT_{acq.date:%Y%m%d}T120000_A{acq.absolute_orbit:06d}_{acq.tile}_N{acq.baseline}" '
        'imageFormat="JPEG2000">',
    ]
    lines += [f"            <IMAGE_FILE>{name}</IMAGE_FILE>" for name in image_files]
    lines += [
        "          </Granule>",
        "        </Granule_List>",
        "      </Product_Organisation>",
        "    </Product_Info>",
        "    <Product_Image_Characteristics>",
        "      <Special_Values>",
        "        <SPECIAL_VALUE_TEXT>NODATA</SPECIAL_VALUE_TEXT>",
        "        <SPECIAL_VALUE_INDEX>0</SPECIAL_VALUE_INDEX>",
        "      </Special_Values>",
        "      <Special_Values>",
        "        <SPECIAL_VALUE_TEXT>SATURATED</SPECIAL_VALUE_TEXT>",
        "        <SPECIAL_VALUE_INDEX>65535</SPECIAL_VALUE_INDEX>",
        "      </Special_Values>",
        "      <QUANTIFICATION_VALUES_LIST>",
        f'        <BOA_QUANTIFICATION_VALUE unit="none">{QUANTIFICATION}'
        "</BOA_QUANTIFICATION_VALUE>",
        '        <AOT_QUANTIFICATION_VALUE unit="none">1000.0</AOT_QUANTIFICATION_VALUE>',
        '        <WVP_QUANTIFICATION_VALUE unit="cm">1000.0</WVP_QUANTIFICATION_VALUE>',
        "      </QUANTIFICATION_VALUES_LIST>",
    ]
    if baseline_has_offset(acq.baseline):
        lines.append("      <BOA_ADD_OFFSET_VALUES_LIST>")
        lines += [f'        <BOA_ADD_OFFSET band_id="{band_id}">{BOA_ADD_OFFSET}</BOA_ADD_OFFSET>'
                  for band_id in range(13)]
        lines.append("      </BOA_ADD_OFFSET_VALUES_LIST>")
    lines.append("      <Spectral_Information_List>")
    lines += [f'        <Spectral_Information bandId="{band_id}" physicalBand="{name}"/>'
              for band_id, name in enumerate(band_names)]
    lines += [
        "      </Spectral_Information_List>",
        "    </Product_Image_Characteristics>",
        "  </n1:General_Info>",
        "  <n1:Quality_Indicators_Info>",
        f"    <Cloud_Coverage_Assessment>{100.0 * acq.cloud_cover:.1f}"
        "</Cloud_Coverage_Assessment>",
        "  </n1:Quality_Indicators_Info>",
        "</n1:Level-2A_User_Product>",
        "",
    ]
    return "\n".join(lines)


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.remove(path)


def write_acquisition(acq, root, layout="plain"):
    """Write one acquisition under `root` as 'safe', 'safe_zip' or 'plain'; return its path.

    safe:     <root>/<product>.SAFE/ with MTD_MSIL2A.xml and GRANULE/<granule>/IMG_DATA/R10m|R20m
              /<tile>_<time>_<band>_<res>m.jp2 (lossless JPEG 2000)
    safe_zip: <root>/<product>.SAFE.zip holding the same tree under <product>.SAFE/
    plain:    <root>/<S2A|S2B>_<YYYYMMDD>/B02.tif ... B12.tif, B8A.tif, SCL.tif, metadata.json
    """
    if layout not in LAYOUTS:
        raise ImperviousnessError(f"Unknown layout {layout!r}; use one of {', '.join(LAYOUTS)}.")
    os.makedirs(root, exist_ok=True)
    if layout == "plain":
        path = os.path.join(root, acq.plain_name)
        _remove(path)
        os.makedirs(path)
        for band in BANDS:
            gt = acq.geotransform_10m if band in BANDS_10M else acq.geotransform_20m
            write_gtiff(os.path.join(path, f"{band}.tif"), acq.bands[band], gt, acq.crs_wkt,
                        description=band)
        write_gtiff(os.path.join(path, "SCL.tif"), acq.scl, acq.geotransform_20m, acq.crs_wkt,
                    description="SCL")
        metadata = {"processing_baseline": acq.baseline}
        if baseline_has_offset(acq.baseline):
            metadata["boa_add_offset"] = BOA_ADD_OFFSET
        with open(os.path.join(path, "metadata.json"), "w", encoding="utf-8") as stream:
            json.dump(metadata, stream, indent=2, sort_keys=True)
            stream.write("\n")
        return path

    top = f"{acq.product_name}.SAFE"
    members = _safe_members(acq)
    if layout == "safe":
        path = os.path.join(root, top)
        _remove(path)
        for relative, data in members:
            target = os.path.join(path, *relative.split("/"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as stream:
                stream.write(data)
        return path

    path = os.path.join(root, top + ".zip")
    _remove(path)
    entries = {}
    for relative, data in members:
        parts = f"{top}/{relative}".split("/")
        for depth in range(1, len(parts)):
            entries["/".join(parts[:depth]) + "/"] = None
        entries[f"{top}/{relative}"] = data
    stamp = (acq.date.year, acq.date.month, acq.date.day, 12, 0, 0)
    with zipfile.ZipFile(path + ".part", "w", zipfile.ZIP_STORED) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.create_system = 3
            info.compress_type = zipfile.ZIP_STORED
            if entries[name] is None:
                info.external_attr = (0o40755 << 16) | 0x10
                archive.writestr(info, b"")
            else:
                info.external_attr = 0o644 << 16
                archive.writestr(info, entries[name])
    os.replace(path + ".part", path)
    return path

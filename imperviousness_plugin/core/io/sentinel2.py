"""Finding and describing Sentinel-2 L2A acquisitions on disk (SPEC section 4).

Three layouts are read, all through GDAL without extracting anything:
- `.SAFE` folders (`GRANULE/*/IMG_DATA/R10m|R20m|R60m/*_B02_10m.jp2` ... and `MTD_MSIL2A.xml`),
- `.SAFE.zip` (or `.zip`) files holding such a folder, read in place through `/vsizip/`,
- plain folders named with the date (`S2A_20210314`) holding `B02.tif` ... `SCL.tif` and an
  optional `metadata.json` with `processing_baseline` and `boa_add_offset`.
"""

import datetime
import json
import os
import re
import zipfile
from dataclasses import dataclass, field

from ..errors import ImperviousnessError

REFLECTANCE_BANDS = ("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12")
SCL = "SCL"
# Index of each band in the MTD_MSIL2A.xml BOA_ADD_OFFSET list (band_id 0..12 = B01..B12, B8A=8).
_MTD_BAND_IDS = {"B01": 0, "B02": 1, "B03": 2, "B04": 3, "B05": 4, "B06": 5, "B07": 6, "B08": 7,
                 "B8A": 8, "B09": 9, "B10": 10, "B11": 11, "B12": 12}
# Products of processing baseline 04.00 and later carry this offset (ATBD 4.1.1).
BASELINE_04_OFFSET = -1000

_DATE = re.compile(r"(?<!\d)((?:19|20)\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?!\d)")
_SAFE_BAND = re.compile(r"_(B\d[\dA]|SCL)_(10|20|60)m\.(jp2|tif)$", re.IGNORECASE)
_PLAIN_BAND = re.compile(r"^(B\d[\dA]|SCL)\.tiff?$", re.IGNORECASE)
_NAME_BASELINE = re.compile(r"_N(\d{2})(\d{2})_")


@dataclass
class Acquisition:
    """One Sentinel-2 L2A acquisition: where its bands are and how to read their values."""

    source: str
    date: datetime.date
    band_paths: dict            # band name -> path GDAL opens (/vsizip/... for zips)
    baseline: str = None        # e.g. "04.00"; None when unknown
    offsets: dict = field(default_factory=dict)  # band name -> BOA_ADD_OFFSET (DN), 0 if absent

    @property
    def name(self):
        return os.path.basename(self.source.rstrip("/"))

    def offset(self, band):
        return self.offsets.get(band, 0)

    def require_bands(self, bands):
        missing = [band for band in bands if band not in self.band_paths]
        if missing:
            raise ImperviousnessError(
                f"Acquisition {self.source} has no {', '.join(missing)} "
                f"(found {', '.join(sorted(self.band_paths)) or 'no band files'}).")


def find_acquisitions(inputs):
    """All acquisitions under `inputs` (a path, a ';'-separated string or a list), sorted by date."""
    if isinstance(inputs, str):
        inputs = [part for part in inputs.split(";") if part.strip()]
    acquisitions = []
    for path in inputs:
        path = os.path.abspath(str(path).strip())
        if not os.path.exists(path):
            raise ImperviousnessError(f"Input {path} does not exist.")
        if _is_acquisition(path):
            acquisitions.append(read_acquisition(path))
            continue
        if not os.path.isdir(path):
            raise ImperviousnessError(
                f"Input {path} is not a Sentinel-2 acquisition (.SAFE folder, .SAFE.zip, or a "
                "folder with B02.tif ... SCL.tif) nor a folder holding acquisitions.")
        found = [read_acquisition(os.path.join(path, child))
                 for child in sorted(os.listdir(path)) if _is_acquisition(os.path.join(path, child))]
        if not found:
            raise ImperviousnessError(
                f"No Sentinel-2 acquisition found in {path}: expected .SAFE folders, .SAFE.zip "
                "files or folders named with a date (YYYYMMDD) holding B02.tif ... SCL.tif.")
        acquisitions.extend(found)
    return sorted(acquisitions, key=lambda acquisition: (acquisition.date, acquisition.source))


def _is_acquisition(path):
    name = os.path.basename(path.rstrip("/")).lower()
    if os.path.isfile(path):
        return name.endswith(".zip")
    if name.endswith(".safe"):
        return True
    return os.path.isdir(path) and any(_PLAIN_BAND.match(child) for child in os.listdir(path))


def read_acquisition(path):
    """Describe one acquisition (any of the three layouts)."""
    if os.path.isfile(path):
        return _read_safe_zip(path)
    if path.rstrip("/").lower().endswith(".safe"):
        return _read_safe_folder(path)
    return _read_plain_folder(path)


def acquisition_date(name, source):
    match = _DATE.search(name)
    if not match:
        raise ImperviousnessError(f"Cannot find a date (YYYYMMDD) in the name of {source}.")
    return datetime.date(*(int(part) for part in match.groups()))


def _read_safe_folder(path):
    members = []
    for folder, _, files in os.walk(path):
        members.extend(os.path.relpath(os.path.join(folder, name), path) for name in files)
    mtd = os.path.join(path, "MTD_MSIL2A.xml")
    xml = None
    if os.path.exists(mtd):
        with open(mtd, encoding="utf-8", errors="replace") as stream:
            xml = stream.read()
    return _safe_acquisition(path, path, members, xml)


def _read_safe_zip(path):
    try:
        with zipfile.ZipFile(path) as archive:
            names = [name for name in archive.namelist() if not name.endswith("/")]
            mtd = [name for name in names if os.path.basename(name) == "MTD_MSIL2A.xml"]
            xml = archive.read(mtd[0]).decode("utf-8", "replace") if mtd else None
    except (zipfile.BadZipFile, OSError) as error:
        raise ImperviousnessError(f"{path} is not a readable zip file: {error}") from None
    return _safe_acquisition(path, "/vsizip/" + path, names, xml)


def _safe_acquisition(source, gdal_root, members, mtd_xml):
    """Pick the finest-resolution file of each band among the product's image files."""
    best = {}
    for member in members:
        if "IMG_DATA" not in member.replace("\\", "/"):
            continue
        match = _SAFE_BAND.search(member)
        if match:
            band, resolution = match.group(1).upper(), int(match.group(2))
            if band not in best or resolution < best[band][0]:
                best[band] = (resolution, member)
    band_paths = {band: f"{gdal_root}/{member}" for band, (_, member) in best.items()}
    name = os.path.basename(source)
    baseline, offsets = _safe_baseline(name, mtd_xml)
    return Acquisition(source, acquisition_date(name, source), band_paths, baseline, offsets)


def _safe_baseline(name, mtd_xml):
    """Processing baseline and per-band BOA offsets from MTD_MSIL2A.xml, else from the name."""
    baseline = None
    if mtd_xml:
        match = re.search(r"<PROCESSING_BASELINE>\s*([\d.]+)\s*<", mtd_xml)
        baseline = match.group(1) if match else None
    if baseline is None:
        match = _NAME_BASELINE.search(name)
        baseline = f"{match.group(1)}.{match.group(2)}" if match else None
    offsets = {}
    if mtd_xml:
        listed = dict(re.findall(r'<BOA_ADD_OFFSET band_id="(\d+)">\s*(-?\d+)\s*<', mtd_xml))
        offsets = {band: int(listed[str(index)]) for band, index in _MTD_BAND_IDS.items()
                   if str(index) in listed}
    if not offsets:
        offsets = _baseline_offsets(baseline, None)
    return baseline, offsets


def _baseline_offsets(baseline, offset):
    """Offsets for all bands: the given one, else -1000 for baselines >= 04.00, else none."""
    if offset is None:
        offset = BASELINE_04_OFFSET if baseline and _baseline_number(baseline) >= 4.0 else 0
    return {band: int(offset) for band in REFLECTANCE_BANDS} if offset else {}


def _baseline_number(baseline):
    try:
        return float(baseline)
    except ValueError:
        raise ImperviousnessError(f"Unreadable processing baseline {baseline!r}.") from None


def _read_plain_folder(path):
    band_paths = {}
    for child in sorted(os.listdir(path)):
        match = _PLAIN_BAND.match(child)
        if match:
            band_paths[match.group(1).upper()] = os.path.join(path, child)
    baseline, offset = None, None
    metadata_path = os.path.join(path, "metadata.json")
    if os.path.exists(metadata_path):
        try:
            with open(metadata_path, encoding="utf-8") as stream:
                metadata = json.load(stream)
        except (OSError, ValueError) as error:
            raise ImperviousnessError(f"Cannot read {metadata_path}: {error}") from None
        baseline = metadata.get("processing_baseline")
        offset = metadata.get("boa_add_offset")
    name = os.path.basename(path.rstrip("/"))
    return Acquisition(path, acquisition_date(name, path), band_paths, baseline,
                       _baseline_offsets(baseline, offset) if baseline or offset else {})

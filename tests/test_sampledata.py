"""Synthetic sample data: determinism, file layouts, DN encoding, clouds/SCL, truth and grids."""

import datetime
import filecmp
import json
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import pytest
from osgeo import gdal, osr
from scipy import ndimage

from tools import sampledata as sd
from imperviousness_plugin.core.errors import ImperviousnessError

gdal.UseExceptions()
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLAIN_FILES = {f"{band}.tif" for band in sd.BANDS} | {"SCL.tif", "metadata.json"}


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample") / "sample"
    started = time.perf_counter()
    description = sd.generate_sample(out)
    elapsed = time.perf_counter() - started
    return out, description, elapsed


@pytest.fixture(scope="module")
def world():
    return sd.simulate_world()


@pytest.fixture(scope="module")
def year_acquisitions(world):
    return {year: sd.simulate_acquisitions(world, year) for year in world.years}


def read(path):
    dataset = gdal.Open(str(path))
    return dataset.ReadAsArray(), dataset


def all_files(root):
    found = {}
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            found[os.path.relpath(path, root)] = path
    return found


# ----------------------------------------------------------------------------------------------
# Determinism and speed


def test_visible_sealed_objects_by_hand():
    """The opening keeps sealed objects >= 6 m across and drops thinner paving (2 m cells)."""
    labels = np.full((10, 10), sd.GRASS, dtype=np.uint8)     # two 10 m pixels a side
    labels[0:4, 0:4] = sd.ROOF          # an 8 x 8 m house in pixel (0, 0): 16 of 25 cells
    labels[5:10, 6] = sd.PAVED          # a 2 m path through pixel (1, 1): dropped
    labels[5:10, 2:5] = sd.PAVED        # a 6 m street through pixel (1, 0): 15 of 25 cells
    visible = sd._visible_sealed(labels, 2)
    np.testing.assert_allclose(visible, [[16 / 25, 0.0], [15 / 25, 0.0]])


def test_generate_sample_is_byte_identical_and_fast(sample, tmp_path):
    out, description, elapsed = sample
    assert elapsed < 60, f"generating the default sample took {elapsed:.1f} s"
    again = tmp_path / "again"
    assert sd.generate_sample(again) == description
    first, second = all_files(out), all_files(again)
    assert sorted(first) == sorted(second)
    assert len(first) > 300
    different = [name for name in first
                 if not filecmp.cmp(first[name], second[name], shallow=False)]
    assert different == []


def test_other_seed_gives_other_world():
    a = sd.simulate_world(size=120, seed=1)
    b = sd.simulate_world(size=120, seed=2)
    assert not np.array_equal(a.truth[2018].fractions, b.truth[2018].fractions)
    again = sd.simulate_world(size=120, seed=1)
    assert np.array_equal(a.truth[2021].fractions, again.truth[2021].fractions)


def test_regenerating_into_a_sample_folder_replaces_it(tmp_path):
    out = tmp_path / "s"
    sd.generate_sample(out, size=100, n_dates=4, seed=5)
    sd.generate_sample(out, size=100, n_dates=4, seed=6)
    description = json.loads((out / "sample.json").read_text())
    assert description["seed"] == 6
    written = {record["path"].split("/")[2] for records in description["acquisitions"].values()
               for record in records}
    on_disk = {name for year in ("2018", "2021") for name in os.listdir(out / "s2" / year)}
    assert on_disk == written
    (tmp_path / "other" / "s2").mkdir(parents=True)
    with pytest.raises(ImperviousnessError):
        sd.generate_sample(tmp_path / "other", size=100, n_dates=4)


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ImperviousnessError, match="even"):
        sd.simulate_world(size=151)
    with pytest.raises(ImperviousnessError, match="years"):
        sd.simulate_world(size=100, years=(2021, 2018))
    with pytest.raises(ImperviousnessError, match="layout"):
        sd.write_acquisition(sd.simulate_acquisition(sd.simulate_world(size=100), (2018, 0)),
                             "/tmp", "tar")


# ----------------------------------------------------------------------------------------------
# Description and acquisitions


def test_sample_json_describes_what_was_written(sample):
    out, description, _ = sample
    assert json.loads((out / "sample.json").read_text()) == description
    assert description["years"] == [2018, 2021]
    assert description["seed"] == sd.DEFAULT_SEED and description["size"] == 300
    assert description["utm_grid"]["shape_20m"] == [150, 150]
    for year, records in description["acquisitions"].items():
        assert 30 <= len(records) <= 36
        dates = [record["date"] for record in records]
        assert dates == sorted(set(dates)) and all(d.startswith(year) for d in dates)
        baselines = {record["baseline"] for record in records}
        assert any(sd.baseline_has_offset(b) for b in baselines)
        assert any(not sd.baseline_has_offset(b) for b in baselines)
        assert {record["spacecraft"] for record in records} == {"S2A", "S2B"}
        assert sum(record["kind"] == "full" for record in records) == 2
        assert 1 <= sum(record["nodata_strip"] for record in records) <= 2
        assert sum(record["kind"] == "clear" for record in records) >= 10
        for record in records:
            assert (out / record["path"]).exists()
    layouts_a = [record["layout"] for record in description["acquisitions"]["2018"]]
    assert layouts_a[:6] == ["safe", "safe_zip", "plain"] * 2
    assert {record["layout"] for record in description["acquisitions"]["2021"]} == {"plain"}
    for file in description["files"]:
        assert (out / file).is_file()
    assert set(description["regions"]) == {"new_construction", "demolition", "crop_rotation"}


def test_acquisition_cadence_and_plan(world):
    plans = sd.acquisition_plan(world, 2021)
    gaps = np.diff([plan.date.toordinal() for plan in plans])
    assert gaps.min() >= 5 and gaps.max() <= 16 and 9 <= gaps.mean() <= 12
    assert [plan.baseline for plan in plans[:4]] == list(sd.BASELINE_CYCLE)
    assert plans == sd.acquisition_plan(world, 2021)
    with pytest.raises(ImperviousnessError):
        sd.acquisition_plan(world, 2019)


# ----------------------------------------------------------------------------------------------
# File layouts


EXPECTED_SUFFIXES = {f"_{band}_10m.jp2" for band in sd.BANDS_10M} | {
    f"_{band}_20m.jp2" for band in sd.BANDS_20M + ("SCL",)}


def check_safe_members(relative_files, product):
    assert len(relative_files) == 12
    assert "MTD_MSIL2A.xml" in relative_files
    date_time = re.search(r"_(\d{8}T\d{6})_N\d{4}_", product).group(1)
    granules = set()
    suffixes = set()
    for relative in relative_files - {"MTD_MSIL2A.xml"}:
        match = re.fullmatch(r"GRANULE/(L2A_T33SVV_A\d{6}_(\d{8}T\d{6}))/IMG_DATA/(R10m|R20m)/"
                             r"T33SVV_(\d{8}T\d{6})_(B\d[\dA]|SCL)_(10|20)m\.jp2", relative)
        assert match, relative
        granule, granule_time, folder, time_, band, resolution = match.groups()
        assert granule_time == time_ == date_time
        assert folder == f"R{resolution}m"
        assert (band in sd.BANDS_10M) == (resolution == "10")
        granules.add(granule)
        suffixes.add(f"_{band}_{resolution}m.jp2")
    assert len(granules) == 1
    assert suffixes == EXPECTED_SUFFIXES


def test_layouts_hold_exactly_the_expected_files(sample):
    out, description, _ = sample
    seen = set()
    for records in description["acquisitions"].values():
        for record in records:
            path = out / record["path"]
            seen.add(record["layout"])
            if record["layout"] == "plain":
                assert re.fullmatch(r"S2[AB]_\d{8}", path.name)
                assert path.name == f"{record['spacecraft']}_{record['date'].replace('-', '')}"
                assert set(os.listdir(path)) == PLAIN_FILES
                metadata = json.loads((path / "metadata.json").read_text())
                assert metadata["processing_baseline"] == record["baseline"]
                assert metadata.get("boa_add_offset", 0) == record["boa_add_offset"]
            elif record["layout"] == "safe":
                assert path.is_dir() and path.name.endswith(".SAFE")
                check_safe_members({name.replace(os.sep, "/") for name in all_files(path)},
                                   path.name)
            else:
                assert path.is_file() and path.name.endswith(".SAFE.zip")
                top = path.name[:-len(".zip")] + "/"
                with zipfile.ZipFile(path) as archive:
                    names = archive.namelist()
                    assert archive.testzip() is None
                assert names == sorted(names) and names[0] == top
                assert all(name.startswith(top) for name in names)
                files = {name[len(top):] for name in names if not name.endswith("/")}
                check_safe_members(files, top[:-1])
            product = path.name
            if record["layout"] != "plain":
                assert product.startswith(f"{record['spacecraft']}_MSIL2A_"
                                          f"{record['date'].replace('-', '')}T")
                assert f"_N{record['baseline'].replace('.', '')}_" in product
    assert seen == {"safe", "safe_zip", "plain"}


def test_mtd_xml_holds_baseline_and_offsets(sample):
    out, description, _ = sample
    checked = set()
    for record in description["acquisitions"]["2018"]:
        path = out / record["path"]
        if record["layout"] == "safe":
            text = (path / "MTD_MSIL2A.xml").read_text()
        elif record["layout"] == "safe_zip":
            with zipfile.ZipFile(path) as archive:
                text = archive.read(path.name[:-4] + "/MTD_MSIL2A.xml").decode()
        else:
            continue
        root = ET.fromstring(text)
        assert root.tag.endswith("Level-2A_User_Product")
        ns = root.tag[:root.tag.index("}") + 1]
        info = root.find(f"{ns}General_Info")
        assert info.find("Product_Info/PROCESSING_BASELINE").text == record["baseline"]
        characteristics = info.find("Product_Image_Characteristics")
        quantification = characteristics.find("QUANTIFICATION_VALUES_LIST/BOA_QUANTIFICATION_VALUE")
        assert quantification.text == "10000" and quantification.get("unit") == "none"
        offsets = characteristics.findall("BOA_ADD_OFFSET_VALUES_LIST/BOA_ADD_OFFSET")
        if sd.baseline_has_offset(record["baseline"]):
            assert [o.get("band_id") for o in offsets] == [str(i) for i in range(13)]
            assert {o.text for o in offsets} == {"-1000"}
        else:
            assert offsets == []
        image_files = [e.text for e in root.iter("IMAGE_FILE")]
        assert len(image_files) == 11
        checked.add(sd.baseline_has_offset(record["baseline"]))
    assert checked == {True, False}


def test_jp2_in_folder_and_zip_equal_plain_geotiff(world, tmp_path):
    plan = [p for p in sd.acquisition_plan(world, 2018) if p.kind == "partial"][0]
    acq = sd.simulate_acquisition(world, plan)
    safe = sd.write_acquisition(acq, tmp_path, "safe")
    archive = sd.write_acquisition(acq, tmp_path, "safe_zip")
    plain = sd.write_acquisition(acq, tmp_path, "plain")
    assert os.path.basename(archive) == os.path.basename(safe) + ".zip"
    top = os.path.basename(safe)
    files = {os.path.basename(p): p for p in all_files(safe).values()}
    for band in sd.BANDS + ("SCL",):
        resolution = 10 if band in sd.BANDS_10M else 20
        name = [n for n in files if n.endswith(f"_{band}_{resolution}m.jp2")][0]
        relative = os.path.relpath(files[name], safe).replace(os.sep, "/")
        from_folder, ds_folder = read(files[name])
        from_zip, ds_zip = read(f"/vsizip/{archive}/{top}/{relative}")
        from_plain, ds_plain = read(os.path.join(plain, f"{band}.tif"))
        expected = acq.scl if band == "SCL" else acq.bands[band]
        assert from_folder.dtype == expected.dtype == from_plain.dtype
        assert np.array_equal(from_folder, expected)
        assert np.array_equal(from_zip, expected)
        assert np.array_equal(from_plain, expected)
        assert expected.dtype == (np.uint8 if band == "SCL" else np.uint16)
        assert expected.shape == ((300, 300) if resolution == 10 else (150, 150))
        for dataset in (ds_folder, ds_zip, ds_plain):
            assert dataset.GetGeoTransform() == (453000.0, resolution, 0.0, 3977000.0, 0.0,
                                                 -resolution)
            assert dataset.GetSpatialRef().GetAuthorityCode(None) == "32633"
            assert dataset.GetRasterBand(1).GetNoDataValue() is None
        structure = ds_plain.GetMetadata("IMAGE_STRUCTURE")
        assert structure.get("COMPRESSION") == "DEFLATE"
        assert ds_plain.GetRasterBand(1).GetBlockSize() == [256, 256]
        assert ds_folder.GetDriver().ShortName == "JP2OpenJPEG"


def test_sample_files_equal_the_simulation(sample, world, year_acquisitions):
    out, description, _ = sample
    for year, records in description["acquisitions"].items():
        acquisitions = year_acquisitions[int(year)]
        for index in (0, 1, 2, 5):
            record, acq = records[index], acquisitions[index]
            path = out / record["path"]
            if record["layout"] == "plain":
                b08 = read(path / "B08.tif")[0]
                scl = read(path / "SCL.tif")[0]
            else:
                root = f"/vsizip/{path}/{path.name[:-4]}" if record["layout"] == "safe_zip" \
                    else str(path)
                granule = f"{root}/GRANULE/{acq.granule_name}/IMG_DATA"
                b08 = read(f"{granule}/R10m/T33SVV_{acq.sensing_time}_B08_10m.jp2")[0]
                scl = read(f"{granule}/R20m/T33SVV_{acq.sensing_time}_SCL_20m.jp2")[0]
            assert np.array_equal(b08, acq.bands["B08"])
            assert np.array_equal(scl, acq.scl)


def test_reader_finds_every_acquisition(sample):
    sentinel2 = pytest.importorskip("imperviousness_plugin.core.io.sentinel2")
    out, description, _ = sample
    for year, records in description["acquisitions"].items():
        found = sentinel2.find_acquisitions(str(out / "s2" / year))
        assert [a.date.isoformat() for a in found] == [r["date"] for r in records]
        for acquisition, record in zip(found, records):
            assert acquisition.baseline == record["baseline"]
            assert acquisition.offset("B02") == record["boa_add_offset"]
            assert set(acquisition.band_paths) >= set(sd.BANDS) | {"SCL"}


# ----------------------------------------------------------------------------------------------
# Digital numbers, SCL and clouds


def test_dn_offset_is_exactly_1000_for_baselines_from_04_00(world):
    plan = [p for p in sd.acquisition_plan(world, 2018) if p.nodata_strip][0]
    old = sd.simulate_acquisition(world, plan, baseline="03.00")
    new = sd.simulate_acquisition(world, plan, baseline="04.00")
    newer = sd.simulate_acquisition(world, plan, baseline="05.09")
    assert old.boa_add_offset == 0 and new.boa_add_offset == -1000
    assert np.array_equal(old.scl, new.scl)
    for band in sd.BANDS:
        a, b = old.bands[band].astype(np.int32), new.bands[band].astype(np.int32)
        nodata = a == 0
        assert nodata.any() and np.array_equal(nodata, b == 0)
        assert np.all(b[~nodata] - a[~nodata] == 1000)
        assert np.array_equal(new.bands[band], newer.bands[band])
        assert np.allclose(old.reflectance(band), new.reflectance(band), equal_nan=True)
        assert np.nanmax(np.abs(old.reflectance(band) - a / 10000.0)) < 1e-6


def test_nodata_strip_is_dn_zero_and_scl_zero(year_acquisitions):
    strips = 0
    for acquisitions in year_acquisitions.values():
        for acq in acquisitions:
            nodata20 = acq.scl == 0
            nodata10 = np.repeat(np.repeat(nodata20, 2, 0), 2, 1)
            for band in sd.BANDS:
                expected = nodata10 if band in sd.BANDS_10M else nodata20
                assert np.array_equal(acq.bands[band] == 0, expected), (acq.date, band)
            if nodata20.any():
                strips += 1
                assert acq.nodata_strip and nodata20[0, 0] and not nodata20[-1, -1]
                assert nodata20.mean() < 0.05
    assert 2 <= strips <= 4


def test_clouds_are_scl_8_9_10_and_bright(year_acquisitions):
    cloudy = bright = cirrus_seen = full_seen = 0
    for acquisitions in year_acquisitions.values():
        for acq in acquisitions:
            opacity = acq.masks["cloud_opacity"]
            blue = acq.reflectance("B02").reshape(150, 2, 150, 2).mean((1, 3))
            red20 = acq.reflectance("B04").reshape(150, 2, 150, 2).mean((1, 3))
            assert set(np.unique(acq.scl)) <= {0, 3, 4, 5, 6, 7, 8, 9, 10}
            valid = acq.scl > 0
            assert np.all(acq.scl[(opacity >= 0.7) & valid] == 9)
            assert np.all(acq.scl[(opacity >= 0.45) & (opacity < 0.7) & valid] == 8)
            clouds = np.isin(acq.scl, (8, 9))
            if acq.kind == "full":
                full_seen += 1
                assert np.isin(acq.scl, (8, 9)).all()
            if clouds.sum() > 100:
                cloudy += 1
                assert np.nanmean(blue[clouds]) > 0.25
                assert np.nanpercentile(blue[clouds], 2) > 0.15
                # flat, high cloud spectrum: red about as bright as blue
                assert abs(np.nanmean(red20[clouds]) / np.nanmean(blue[clouds]) - 0.97) < 0.05
                bright += 1
            cirrus = acq.scl == 10
            if cirrus.any():
                cirrus_seen += 1
                assert np.all(acq.masks["cirrus"][cirrus] >= 0.06)
            clear = np.isin(acq.scl, (4, 5, 6))
            if clear.any():
                assert np.nanmean(blue[clear]) < 0.12
    assert cloudy >= 20 and bright == cloudy and cirrus_seen >= 2 and full_seen == 4


def test_shadows_are_dark_and_displaced(world, year_acquisitions):
    acquisitions = year_acquisitions[2018]
    clear = [a for a in acquisitions if a.kind == "clear" and not a.nodata_strip]
    checked = 0
    for acq in acquisitions:
        shadow = acq.scl == 3
        if shadow.sum() < 50:
            continue
        reference = min(clear, key=lambda a: abs((a.date - acq.date).days))
        nir = acq.bands["B8A"][shadow].astype(float) + acq.boa_add_offset
        nir_clear = reference.bands["B8A"][shadow].astype(float) + reference.boa_add_offset
        assert nir.mean() < 0.75 * nir_clear.mean()
        assert not np.isin(acq.scl[shadow], (8, 9)).any()
        assert (acq.masks["cloud_opacity"][shadow] < 0.2).all()
        checked += 1
    assert checked >= 5


def test_clear_scl_follows_the_surface(world, year_acquisitions):
    truth = world.truth[2018]
    water20 = truth.fraction("water").reshape(150, 2, 150, 2).mean((1, 3))
    forest20 = truth.fraction("broadleaf").reshape(150, 2, 150, 2).mean((1, 3))
    urban20 = truth.imd.reshape(150, 2, 150, 2).mean((1, 3))
    summer = [a for a in year_acquisitions[2018] if a.kind == "clear" and a.date.month in (6, 7, 8)]
    assert summer
    for acq in summer:
        free = acq.masks["cirrus"] < 0.06
        assert (acq.scl[(water20 > 0.99) & free] == 6).mean() > 0.99
        assert (acq.scl[(forest20 > 0.99) & free] == 4).mean() > 0.95
        assert (acq.scl[(urban20 > 0.99) & free] == 5).mean() > 0.95
        assert 0 < (acq.scl == 7).mean() < 0.01


# ----------------------------------------------------------------------------------------------
# Spectra and phenology


def test_endmembers_and_phenology_are_realistic():
    assert sd.endmember_table(0.3).shape == (len(sd.COVERS), 10)
    tau = np.linspace(0, 1, 365, endpoint=False)
    for cover in sd.COVERS:
        reflectance = sd.endmember_reflectance(cover, tau)
        assert reflectance.shape == (365, 10)
        assert (reflectance > 0).all() and (reflectance < 0.6).all()
    assert sd.ndvi_curve("water", 0.5) < 0
    assert 0.05 < sd.ndvi_curve("paved", 0.5) < 0.25 and sd.ndvi_curve("bare", 0.5) < 0.25
    winter, summer = sd.ndvi_curve("winter_crop", tau), sd.ndvi_curve("summer_crop", tau)
    march, august = int(0.19 * 365), int(0.58 * 365)
    assert winter[march] > 0.75 and summer[march] < 0.3
    assert summer[august] > 0.75 and winter[august] < 0.3
    broadleaf = sd.ndvi_curve("broadleaf", tau)
    assert broadleaf[180] > 0.8 and broadleaf[20] < 0.6
    conifer = sd.ndvi_curve("conifer", tau)
    assert conifer.min() > 0.7 and np.ptp(conifer) < 0.1
    grass = sd.ndvi_curve("grass", tau)
    assert grass[50] > grass[200] + 0.3
    assert np.allclose(sd.endmember_reflectance("roof", tau), sd.endmember_reflectance("roof"))
    assert sd.endmember_reflectance(sd.WINTER_CROP, 0.2).shape == (10,)
    with pytest.raises(ImperviousnessError):
        sd.endmember_reflectance("lava")
    assert sd.day_fraction(datetime.date(2021, 1, 1)) == 0.0
    assert sd.day_fraction(datetime.date(2020, 12, 31)) == 365 / 366


def test_truth_fractions_are_consistent(world):
    for year in world.years:
        truth = world.truth[year]
        assert np.allclose(truth.fractions.sum(axis=0), 1.0, atol=1e-5)
        shares = truth.fractions.mean(axis=(1, 2))
        assert all(share > 0.005 for share in shares), dict(zip(sd.COVERS, shares))
        imd = truth.imd
        assert 0.08 < imd.mean() < 0.3
        assert (imd >= 0.9).mean() > 0.03 and ((imd > 0.2) & (imd < 0.7)).mean() > 0.03
        assert np.all(truth.ibu <= (imd > 0))
    unchanged = world.change_regions == 0
    a, b = world.truth[2018], world.truth[2021]
    assert np.array_equal(a.fractions[:, unchanged], b.fractions[:, unchanged])
    assert unchanged.mean() > 0.9


# ----------------------------------------------------------------------------------------------
# Change regions


def eea(out, folder, name):
    return read(out / folder / name)


def test_change_regions_behave_as_documented(sample):
    out, description, _ = sample
    imd_a, ds = eea(out, "reference", "IMD_2018_010m.tif")
    imd_b = eea(out, "truth", "IMD_2021_010m.tif")[0]
    ibu_a = eea(out, "reference", "IBU_2018_010m.tif")[0]
    ibu_b = eea(out, "truth", "IBU_2021_010m.tif")[0]
    regions = eea(out, "truth", "change_regions_010m.tif")[0]
    assert set(np.unique(regions)) == {0, 1, 2, 3}
    inner = {code: ndimage.binary_erosion(regions == code, iterations=2) for code in (1, 2, 3)}
    assert all(mask.sum() >= 100 for mask in inner.values())
    # 1 new construction: 0 -> 60..100 % and built-up
    assert np.all(imd_a[inner[1]] == 0) and np.all(imd_b[inner[1]] >= 60)
    assert imd_b[regions == 1].mean() - imd_a[regions == 1].mean() > 60
    assert ibu_a[inner[1]].max() == 0 and ibu_b[inner[1]].mean() > 0.6
    # 2 demolition: ~100 % -> 0 (a large loss)
    assert imd_a[inner[2]].min() >= 90 and np.all(imd_b[inner[2]] == 0)
    assert imd_a[regions == 2].mean() - imd_b[regions == 2].mean() > 80
    assert ibu_a[inner[2]].mean() > 0.8 and ibu_b[inner[2]].max() == 0
    # 3 crop rotation: no imperviousness at all, cropland in both CLCplus layers
    assert imd_a[regions == 3].max() == 0 and imd_b[regions == 3].max() == 0
    for year in (2018, 2021):
        clc = eea(out, "reference", f"CLCplus_{year}_010m.tif")[0]
        assert np.all(clc[inner[3]] == 7)
    # elsewhere nothing changes
    near = ndimage.binary_dilation(regions > 0, iterations=3)
    assert np.array_equal(imd_a[~near], imd_b[~near])
    assert np.array_equal(ibu_a[~near], ibu_b[~near])
    for name, region in description["regions"].items():
        box = region["eea_pixel_bbox"]
        mask = regions[box["row0"]:box["row1"], box["col0"]:box["col1"]] == region["code"]
        assert mask.sum() == (regions == region["code"]).sum()


def ndvi_curve(acquisitions, mask):
    """Median NDVI over the clear pixels of `mask` per date (dates with >= 50 % clear)."""
    taus, values = [], []
    for acq in acquisitions:
        scl10 = np.repeat(np.repeat(acq.scl, 2, 0), 2, 1)
        clear = np.isin(scl10, (4, 5)) & mask
        if clear.sum() < 0.5 * mask.sum():
            continue
        red, nir = acq.reflectance("B04")[clear], acq.reflectance("B08")[clear]
        taus.append(sd.day_fraction(acq.date))
        values.append(np.median((nir - red) / (nir + red)))
    assert len(taus) >= 12
    return np.array(taus), np.array(values)


def test_crop_rotation_ndvi_curve_changes_strongly(world, year_acquisitions):
    r0, r1, c0, c1 = world.regions["crop_rotation"]
    field = np.zeros((300, 300), dtype=bool)
    field[r0:r1, c0:c1] = True
    grid = np.linspace(0.05, 0.95, 91)
    a = np.interp(grid, *ndvi_curve(year_acquisitions[2018], field))
    b = np.interp(grid, *ndvi_curve(year_acquisitions[2021], field))
    assert np.sqrt(np.mean((a - b) ** 2)) > 0.3
    assert a[grid < 0.25].mean() > 0.6 and b[grid < 0.25].mean() < 0.35       # winter crop in A
    assert b[(grid > 0.5) & (grid < 0.65)].mean() > 0.6                      # summer crop in B
    assert a[(grid > 0.5) & (grid < 0.65)].mean() < 0.35
    # unchanged winter-crop parcels keep their curve
    same = (world.truth[2018].fraction("winter_crop") == 1) & (world.change_regions == 0)
    assert same.sum() > 200
    a = np.interp(grid, *ndvi_curve(year_acquisitions[2018], same))
    b = np.interp(grid, *ndvi_curve(year_acquisitions[2021], same))
    assert np.sqrt(np.mean((a - b) ** 2)) < 0.1


# ----------------------------------------------------------------------------------------------
# Reference grids


def test_reference_layers_are_on_the_eea_grid(sample):
    out, description, _ = sample
    grid = description["eea_grid"]
    names = [("reference", "IMD_2018_010m.tif"), ("reference", "IBU_2018_010m.tif"),
             ("reference", "CLCplus_2018_010m.tif"), ("reference", "CLCplus_2021_010m.tif"),
             ("truth", "IMD_2021_010m.tif"), ("truth", "IBU_2021_010m.tif"),
             ("truth", "change_regions_010m.tif")]
    assert sorted(os.listdir(out / "reference")) == sorted(n for f, n in names if f == "reference")
    arrays = {}
    for folder, name in names:
        array, dataset = eea(out, folder, name)
        gt = dataset.GetGeoTransform()
        assert dataset.GetSpatialRef().GetAuthorityCode(None) == "3035"
        assert gt[1] == 10 and gt[5] == -10 and gt[2] == gt[4] == 0
        assert gt[0] % 10 == 0 and gt[3] % 10 == 0
        assert list(gt) == grid["geotransform"] and list(array.shape) == grid["shape"]
        band = dataset.GetRasterBand(1)
        assert band.DataType == gdal.GDT_Byte and band.GetNoDataValue() == 255
        assert band.GetDescription()
        arrays[name] = array
    assert arrays["IMD_2018_010m.tif"].max() == 100 and arrays["IMD_2018_010m.tif"].min() == 0
    for name in ("IBU_2018_010m.tif", "IBU_2021_010m.tif"):
        assert set(np.unique(arrays[name])) == {0, 1}
    for year in (2018, 2021):
        clc = arrays[f"CLCplus_{year}_010m.tif"]
        imd = arrays[f"IMD_{year}_010m.tif"]
        assert set(np.unique(clc)) <= {1, 2, 3, 5, 6, 7, 9, 10}
        assert {1, 3, 6, 7, 9, 10} <= set(np.unique(clc))
        # The 10 m sealed class: sealed objects >= 6 m across covering >= 20 % of the pixel, or a
        # sealed majority. Visible objects are part of the sealed surface, so every class pixel
        # has IMD >= 20; every pixel with IMD >= 50 is in the class; low-density roads and houses
        # (20..29 %) are in it too, and some pixels of 20..49 % are not (thin paving only).
        assert imd[clc == 1].min() >= 20 and np.all(clc[imd >= 50] == 1)
        assert ((clc == 1) & (imd < 30)).sum() > 100
        assert ((clc != 1) & (imd >= 20) & (imd < 50)).sum() > 10
    # every EEA pixel lies inside the UTM footprint
    rows, cols = grid["shape"]
    x0, _, _, y1, _, _ = grid["geotransform"]
    eea_srs, utm_srs = osr.SpatialReference(), osr.SpatialReference()
    eea_srs.ImportFromEPSG(3035)
    utm_srs.ImportFromEPSG(32633)
    for srs in (eea_srs, utm_srs):
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    transform = osr.CoordinateTransformation(eea_srs, utm_srs)
    corners = [(x0, y1), (x0 + 10 * cols, y1), (x0, y1 - 10 * rows),
               (x0 + 10 * cols, y1 - 10 * rows)]
    for x, y, _ in transform.TransformPoints(corners):
        assert 453000 <= x <= 456000 and 3974000 <= y <= 3977000
    assert rows * cols > 0.8 * 300 * 300


def test_utm_truth_matches_the_world(sample, world):
    out, _, _ = sample
    for year in world.years:
        imd, dataset = read(out / "truth" / "utm" / f"IMD_{year}_010m_utm.tif")
        assert dataset.GetGeoTransform() == world.geotransform_10m
        assert np.array_equal(imd, world.truth[year].imd_percent)
    regions = read(out / "truth" / "utm" / "change_regions_010m_utm.tif")[0]
    assert np.array_equal(regions, world.change_regions)


# ----------------------------------------------------------------------------------------------
# Benchmark year and command line


def test_benchmark_year_small(tmp_path):
    first = sd.generate_benchmark_year(tmp_path / "a", size=200, n_dates=4, seed=3)
    sd.generate_benchmark_year(tmp_path / "b", size=200, n_dates=4, seed=3)
    folders = sorted(os.listdir(first))
    assert len(folders) == 4 and all(re.fullmatch(r"S2[AB]_2021\d{4}", f) for f in folders)
    assert sorted(os.listdir(tmp_path / "b")) == folders
    for folder in folders:
        path = tmp_path / "a" / folder
        assert set(os.listdir(path)) == PLAIN_FILES
        metadata = json.loads((path / "metadata.json").read_text())
        offset = -metadata.get("boa_add_offset", 0)
        for name in PLAIN_FILES - {"metadata.json"}:
            assert filecmp.cmp(path / name, tmp_path / "b" / folder / name, shallow=False)
            array, dataset = read(path / name)
            ten = name[:-4] in sd.BANDS_10M
            assert array.shape == ((200, 200) if ten else (100, 100))
            gt = dataset.GetGeoTransform()
            assert dataset.GetSpatialRef().GetAuthorityCode(None) == "3035"
            assert gt == (4700000.0, 10.0 if ten else 20.0, 0.0, 1500000.0, 0.0,
                          -10.0 if ten else -20.0)
            if name == "SCL.tif":
                assert array.dtype == np.uint8 and set(np.unique(array)) <= {4, 5, 6, 7, 8, 9}
            else:
                assert array.dtype == np.uint16 and array.min() > offset
    assert {json.loads((tmp_path / "a" / f / "metadata.json").read_text())["processing_baseline"]
            for f in folders} == {"03.00", "04.00"}


def test_command_line(tmp_path):
    script = os.path.join(ROOT, "tools", "make_sample_data.py")
    result = subprocess.run([sys.executable, script, str(tmp_path / "s"), "--size", "100",
                             "--seed", "7", "--dates", "5"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    description = json.loads((tmp_path / "s" / "sample.json").read_text())
    assert description["seed"] == 7 and description["size"] == 100
    assert all(len(v) == 5 for v in description["acquisitions"].values())
    result = subprocess.run([sys.executable, script, "--bench-year", str(tmp_path / "b"),
                             "--size", "100", "--dates", "2"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert len(os.listdir(tmp_path / "b")) == 2
    result = subprocess.run([sys.executable, script, str(tmp_path / "x"), "--size", "99"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "even" in result.stderr

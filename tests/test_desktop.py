"""QGIS desktop as a new user meets it: the packaged zip in a fresh profile, first without the pip
packages, then with the plugin's requirements installed.

Real `qgis` under Xvfb, driven by tests/desktop_session.py (--code), started twice on the same
profile. First QGIS's own Python sees only Debian's packages (no venv on its path: no OpenCV, no
ONNX Runtime): the plugin loads without a Python error dialog, registers its algorithms, and one
message bar item names the missing packages; its "How to install" button shows qpip and the
commands (no Install button: the plugin installs nothing). Then QGIS starts with the packages on
its path, as after installing requirements.txt by hand (the venv's site-packages, which holds
exactly those, on top of Debian's numpy): no message, the Toolbox, the full model's dialog and
a model run on a small generated sample, whose products land in the layer group
"HRL 2018-2021" with their styles. Screenshots: build/screenshots/desktop_*.png (the README's
are copies in docs/screenshots). Takes about a minute.

The same zip under qgis_process (headless) prints the missing packages with how to install them,
and an algorithm that needs one fails with that message, not a traceback.
"""

import json
import os
import pathlib
import shutil
import subprocess
import sysconfig
import zipfile

import numpy as np
import pytest

from rasters import write_raster

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "build" / "screenshots"

pytestmark = pytest.mark.skipif(shutil.which("qgis") is None or shutil.which("Xvfb") is None,
                                reason="QGIS desktop and Xvfb are installed by scripts/setup.sh")


def plain_environment(**extra):
    """This process's environment without the venv: QGIS's Python sees Debian's packages only."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "QT_QPA_PLATFORM")}
    return dict(env, **extra)


def install_zip(profile_root):
    """`make package`'s zip unpacked into a fresh profile's plugin folder, enabled in its settings."""
    subprocess.run(["make", "-s", "package"], cwd=ROOT, check=True, capture_output=True)
    version = [line.split("=", 1)[1] for line in (ROOT / "metadata.txt").read_text().splitlines()
               if line.startswith("version=")][0]
    profile = profile_root / "profiles" / "default"
    with zipfile.ZipFile(ROOT / "dist" / f"imperviousness_plugin-{version}.zip") as zipped:
        zipped.extractall(profile / "python" / "plugins")
    (profile / "QGIS").mkdir(parents=True)
    (profile / "QGIS" / "QGIS3.ini").write_text("[PythonPlugins]\nimperviousness_plugin=true\n")
    return profile


@pytest.fixture(scope="module")
def xvfb():
    """A virtual X display (Xvfb picks a free number and writes it to the pipe)."""
    server = subprocess.Popen(["Xvfb", "-displayfd", "1", "-screen", "0", "1400x900x24", "-nolisten", "tcp"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    display = server.stdout.readline().strip()
    yield f":{display}"
    server.terminate()
    server.wait(timeout=30)


def run_session(root, display, steps, run=None, python_path=None):
    """One QGIS desktop start on the profile under root/config; returns the session's observations."""
    result = root / f"session_{steps}.json"
    env = plain_environment(DISPLAY=display, QGIS_CUSTOM_CONFIG_PATH=str(root / "config"),
                            DESKTOP_RESULT=str(result), DESKTOP_SCREENSHOTS=str(SCREENSHOTS),
                            DESKTOP_STEPS=steps, DESKTOP_RUN=json.dumps(run or {}),
                            OPENBLAS_NUM_THREADS="1")
    if python_path:
        env["PYTHONPATH"] = python_path
    completed = subprocess.run(
        ["qgis", "--nologo", "--noversioncheck", "--code", str(ROOT / "tests" / "desktop_session.py")],
        env=env, capture_output=True, text=True, timeout=240)
    assert result.exists(), f"QGIS ended without the session's result:\n{completed.stdout}\n{completed.stderr}"
    observed = json.loads(result.read_text())
    assert "error" not in observed, observed["error"]
    return observed


@pytest.fixture(scope="module")
def desktop(tmp_path_factory, xvfb):
    root = tmp_path_factory.mktemp("desktop")
    install_zip(root / "config")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return root, xvfb


@pytest.fixture(scope="module")
def missing(desktop):
    root, display = desktop
    return run_session(root, display, "missing")


@pytest.fixture(scope="module")
def session(desktop, missing):
    """The second start, with the requirements on QGIS's path (after `missing`: same profile)."""
    from tools.sampledata import generate_sample

    root, display = desktop
    generate_sample(root / "sample", size=100, n_dates=12)
    reference = root / "sample" / "reference"
    run = {"S2_A": str(root / "sample" / "s2" / "2018"), "S2_B": str(root / "sample" / "s2" / "2021"),
           "YEAR_A": 2018, "YEAR_B": 2021,
           "IMD_A": str(reference / "IMD_2018_010m.tif"), "IBU_A": str(reference / "IBU_2018_010m.tif"),
           "CLCPLUS_A": str(reference / "CLCplus_2018_010m.tif"),
           "CLCPLUS_B": str(reference / "CLCplus_2021_010m.tif"),
           "OUTPUT_FOLDER": str(root / "products")}
    # Where the requirements are installed: the venv's site-packages (OpenCV, ONNX Runtime, ...), or
    # the folder .ci/suite.sh names (qpip's <profile>/python/dependencies/<X.Y> on QGIS 3.40/3.44).
    site_packages = os.environ.get("IMPERVIOUSNESS_REQUIREMENTS_PATH") or sysconfig.get_paths()["purelib"]
    return run_session(root, display, "installed", run, site_packages)


def test_plugin_loads_without_its_packages_and_says_how_to_install_them(missing):
    assert missing["python_path_has_cv2"] is False  # the venv is not on QGIS's path
    assert missing["plugin_loaded"] is True
    # Only the main window: no "Couldn't load plugin" / Python error dialog.
    assert [title for kind, title in missing["windows_at_start"] if kind != "QMainWindow"] == []
    # The provider is there with every algorithm; those needing a package refuse when run.
    assert "imperviousness:changemask" in missing["provider_algorithms"]
    assert "imperviousness:hrl_imperviousness" in missing["provider_algorithms"]
    message = " ".join(missing["messages_at_start"])
    assert "missing Python packages: opencv-python-headless, onnxruntime" in message
    assert "qpip" in message
    # No Install button: the plugin installs nothing; one button shows how.
    assert missing["buttons"] == ["imperviousnessInstallHelp"]
    assert missing["install_dialog_visible"] is True
    text = missing["install_dialog_text"]
    assert "the QGIS plugin qpip" in text and "requirements.txt" in text
    for where in ("Debian/Ubuntu", "OSGeo4W Shell", "conda install -c conda-forge"):
        assert where in text
    assert "opencv-python-headless (import cv2): change mask" in text
    for name in ("desktop_1_missing_dependencies.png", "desktop_2_how_to_install.png"):
        assert (SCREENSHOTS / name).stat().st_size > 10_000


def test_with_the_requirements_installed_there_is_no_message(session):
    assert session["python_path_has_cv2"] is True
    assert not any("missing Python packages" in text for text in session["messages_at_start"])
    assert session["buttons"] == []


def test_model_dialog_lists_the_inputs_in_workflow_order(session):
    observed = session
    assert observed["dialog_parameters"] == [
        "S2_A", "S2_B", "YEAR_A", "YEAR_B", "IMD_A", "IBU_A", "CLCPLUS_A", "CLCPLUS_B",
        "MODELS_IMD", "MODELS_IBU", "OUTPUT_FOLDER"]
    for name in ("desktop_3_toolbox.png", "desktop_4_model_dialog.png"):
        assert (SCREENSHOTS / name).stat().st_size > 10_000


def test_model_run_loads_every_product_into_its_group(session):
    from imperviousness_plugin.core.products.catalogue import LEGEND_CLASSES, LEGEND_RAMPS, PRODUCTS, hrl_name

    observed = session
    assert observed["group"] == "HRL 2018-2021" and observed["group_index"] == 0
    layers = dict(observed["layers"])
    expected = {hrl_name(product, 2018, 2021)[:-4]: definition.legend
                for product, definition in PRODUCTS.items()}
    assert set(layers) == set(expected)
    for name, kind in expected.items():
        if kind is None:  # float layers: QGIS's default renderer
            continue
        pseudocolour = kind in LEGEND_CLASSES or kind in LEGEND_RAMPS
        assert layers[name] == ("singlebandpseudocolor" if pseudocolour else "paletted"), name
    names = [name for name, _ in observed["layers"]]
    # status first, then change, then confidence
    assert names[:5] == ["IMD_2021_010m", "IMD_2021_100m", "IBU_2021_010m", "SBU_2021_100m", "IMDC_1821_020m"]
    assert names.index("SBCCS_1821_100m") < names.index("IMDCL_2021_010m") < names.index("IBUCL_2021_010m")
    assert names.index("IBUCL_2021_010m") < names.index("PP_2018_010m") < names.index("CHM_1821_010m")
    assert any("report" in text for text in observed["messages_after_run"])
    assert (SCREENSHOTS / "desktop_5_map_after_run.png").stat().st_size > 10_000


def test_headless_prints_how_to_install_and_algorithms_fail_with_it(tmp_path):
    install_zip(tmp_path / "config")
    rmsd = write_raster(tmp_path / "rmsd.tif", np.full((8, 8), 0.5, dtype=np.float32))
    env = plain_environment(QT_QPA_PLATFORM="offscreen", QGIS_CUSTOM_CONFIG_PATH=str(tmp_path / "config"))
    result = subprocess.run(["/usr/bin/qgis_process.bin", "run", "imperviousness:changemask", "--",
                             f"INPUT={rmsd}", f"OUTPUT={tmp_path / 'chm.tif'}"],
                            env=env, capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Traceback" not in output
    assert "missing Python packages" in output and "opencv-python-headless (import cv2)" in output
    plugin = tmp_path / "config" / "profiles" / "default" / "python" / "plugins" / "imperviousness_plugin"
    assert "the QGIS plugin qpip" in output
    assert f'python3 -m pip install --user --break-system-packages -r "{plugin / "requirements.txt"}"' in output
    assert "sudo apt install python3-opencv" in output
    assert not (tmp_path / "chm.tif").exists()

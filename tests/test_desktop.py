"""QGIS desktop as a new user meets it: the packaged zip in a fresh profile, without the pip packages.

Real `qgis` under Xvfb, driven by tests/desktop_session.py (--code). QGIS's own Python sees only
Debian's packages (no venv on its path: no OpenCV, no ONNX Runtime). The session checks that the
plugin loads without a Python error dialog and shows the missing-dependency message, clicks
Install with a local wheel folder (rebuilt from the venv's installed distributions, tests/wheels.py;
nothing is downloaded), then the Toolbox, the full model's dialog and a model run on a small
generated sample, whose products land in the layer group "HRL 2018-2021" with their styles.
Screenshots: build/screenshots/desktop_*.png. Takes about a minute.

The same zip under qgis_process (headless) prints the missing packages with the install command,
and an algorithm that needs one fails with that message, not a traceback.
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import wheels
from rasters import write_raster

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "build" / "screenshots"
WHEELS = ROOT / "build" / "wheels"
# The distributions the Install button installs (dependencies.REQUIRED minus Debian's SciPy).
WHEEL_DISTRIBUTIONS = ("opencv-python-headless", "onnxruntime", "flatbuffers", "protobuf", "packaging")

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


@pytest.fixture(scope="module")
def session(tmp_path_factory, xvfb):
    from tools.sampledata import generate_sample

    root = tmp_path_factory.mktemp("desktop")
    profile = install_zip(root / "config")
    wheels.wheel_folder(WHEEL_DISTRIBUTIONS, WHEELS)
    generate_sample(root / "sample", size=100, n_dates=12)
    reference = root / "sample" / "reference"
    run = {"S2_A": str(root / "sample" / "s2" / "2018"), "S2_B": str(root / "sample" / "s2" / "2021"),
           "YEAR_A": 2018, "YEAR_B": 2021,
           "IMD_A": str(reference / "IMD_2018_010m.tif"), "IBU_A": str(reference / "IBU_2018_010m.tif"),
           "CLCPLUS_A": str(reference / "CLCplus_2018_010m.tif"),
           "CLCPLUS_B": str(reference / "CLCplus_2021_010m.tif"),
           "OUTPUT_FOLDER": str(root / "products")}
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    result = root / "session.json"
    env = plain_environment(DISPLAY=xvfb, QGIS_CUSTOM_CONFIG_PATH=str(root / "config"),
                            DESKTOP_RESULT=str(result), DESKTOP_SCREENSHOTS=str(SCREENSHOTS),
                            DESKTOP_WHEELS=str(WHEELS), DESKTOP_RUN=json.dumps(run),
                            OPENBLAS_NUM_THREADS="1")
    completed = subprocess.run(
        ["qgis", "--nologo", "--noversioncheck", "--code", str(ROOT / "tests" / "desktop_session.py")],
        env=env, capture_output=True, text=True, timeout=240)
    assert result.exists(), f"QGIS ended without the session's result:\n{completed.stdout}\n{completed.stderr}"
    observed = json.loads(result.read_text())
    assert "error" not in observed, observed["error"]
    return observed, profile


def test_plugin_loads_without_its_packages_and_says_what_to_install(session):
    observed, _profile = session
    assert observed["python_path_has_cv2"] is False  # the venv is not on QGIS's path
    assert observed["plugin_loaded"] is True
    # Only the main window: no "Couldn't load plugin" / Python error dialog.
    assert [title for kind, title in observed["windows_at_start"] if kind != "QMainWindow"] == []
    message = " ".join(observed["messages_at_start"])
    assert "missing Python packages" in message
    assert "opencv-python-headless" in message and "onnxruntime" in message
    assert observed["install_button"] is True
    assert (SCREENSHOTS / "desktop_1_missing_dependencies.png").stat().st_size > 10_000


def test_install_from_a_wheel_folder_registers_the_algorithms(session):
    observed, profile = session
    assert observed["missing_after_install"] == []
    assert observed["cv2_from"].startswith(str(profile / "python" / "dependencies"))
    assert "imperviousness:changemask" in observed["provider_algorithms"]
    assert "imperviousness:hrl_imperviousness" in observed["provider_algorithms"]
    assert any("packages installed" in text for text in observed["messages_after_install"])


def test_model_dialog_lists_the_inputs_in_workflow_order(session):
    observed, _profile = session
    assert observed["dialog_parameters"] == [
        "S2_A", "S2_B", "YEAR_A", "YEAR_B", "IMD_A", "IBU_A", "CLCPLUS_A", "CLCPLUS_B",
        "MODELS_IMD", "MODELS_IBU", "OUTPUT_FOLDER"]
    for name in ("desktop_3_toolbox.png", "desktop_4_model_dialog.png"):
        assert (SCREENSHOTS / name).stat().st_size > 10_000


def test_model_run_loads_every_product_into_its_group(session):
    from imperviousness_plugin.core.products.catalogue import LEGEND_CLASSES, LEGEND_RAMPS, PRODUCTS, hrl_name

    observed, _profile = session
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


def test_headless_prints_the_install_command_and_algorithms_fail_with_it(tmp_path):
    profile = install_zip(tmp_path / "config")
    rmsd = write_raster(tmp_path / "rmsd.tif", np.full((8, 8), 0.5, dtype=np.float32))
    env = plain_environment(QT_QPA_PLATFORM="offscreen", QGIS_CUSTOM_CONFIG_PATH=str(tmp_path / "config"))
    result = subprocess.run(["/usr/bin/qgis_process.bin", "run", "imperviousness:changemask", "--",
                             f"INPUT={rmsd}", f"OUTPUT={tmp_path / 'chm.tif'}"],
                            env=env, capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Traceback" not in output
    assert "missing Python packages" in output and "opencv-python-headless==4.10.0.84" in output
    command = f"-m pip install --disable-pip-version-check --no-deps --upgrade --target {profile / 'python' / 'dependencies'}"
    assert command in output
    assert not (tmp_path / "chm.tif").exists()

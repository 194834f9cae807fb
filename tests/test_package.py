"""`make package` builds a zip that QGIS installs: unpacked on a plugin path, qgis_process sees it."""

import os
import pathlib
import subprocess
import sys
import zipfile

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_package_zip_installs_and_registers_the_provider(tmp_path):
    subprocess.run(["make", "-s", "package"], cwd=ROOT, check=True, capture_output=True)
    version = [line.split("=", 1)[1] for line in (ROOT / "metadata.txt").read_text().splitlines()
               if line.startswith("version=")][0]
    archive = ROOT / "dist" / f"imperviousness_plugin-{version}.zip"
    with zipfile.ZipFile(archive) as zipped:
        names = zipped.namelist()
        zipped.extractall(tmp_path / "plugins")
    assert "imperviousness_plugin/metadata.txt" in names
    assert any(name.startswith("imperviousness_plugin/models/") and name.endswith(".onnx") for name in names)
    assert not any("__pycache__" in name for name in names)
    # Links were resolved into real files: the zip must work without the repository.
    assert not os.path.islink(tmp_path / "plugins" / "imperviousness_plugin" / "metadata.txt")

    site_packages = subprocess.run(
        [sys.executable, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True).stdout.strip()
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QGIS_PLUGINPATH=str(tmp_path / "plugins"),
               QGIS_CUSTOM_CONFIG_PATH=str(tmp_path / "profile"), PYTHONPATH=site_packages)
    qgis_process = "/usr/bin/qgis_process.bin"
    subprocess.run([qgis_process, "plugins", "enable", "imperviousness_plugin"], env=env,
                   capture_output=True, text=True, timeout=300)
    listing = subprocess.run([qgis_process, "list"], env=env, capture_output=True, text=True,
                             timeout=300).stdout
    assert "imperviousness:preprocess" in listing and "imperviousness:aggregate" in listing

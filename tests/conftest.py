"""Shared fixtures: the registered provider, the real shared data, sample data, qgis_process."""

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def provider(qgis_processing):
    """The imperviousness provider registered in the session's processing registry."""
    from qgis.core import QgsApplication

    from imperviousness_plugin.provider import ImperviousnessProvider

    registry = QgsApplication.processingRegistry()
    if registry.providerById("imperviousness") is None:
        registry.addProvider(ImperviousnessProvider())
    return registry.providerById("imperviousness")


@pytest.fixture(scope="session")
def shared_data():
    """../shared/data beside the repository (real Copernicus and Sentinel-2 data)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"the real-data folder {SHARED_DATA} is absent (it lives beside the repository, "
                    "see its README); real-data tests need it")
    return SHARED_DATA


@pytest.fixture(scope="session")
def qgis_process(tmp_path_factory):
    """Run scripts/qgis_process (qgis_process.bin with the plugin enabled) in a fresh profile."""
    profile = tmp_path_factory.mktemp("qgis-profile")

    def run(*args, check=True):
        env = dict(os.environ, IMPERVIOUSNESS_QGIS_PROFILE=str(profile))
        result = subprocess.run([str(ROOT / "scripts" / "qgis_process"), *map(str, args)],
                                capture_output=True, text=True, env=env, timeout=900)
        if check and result.returncode != 0:
            raise AssertionError(f"qgis_process {' '.join(map(str, args))} failed "
                                 f"({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result

    return run

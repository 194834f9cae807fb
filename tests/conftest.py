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


QGIS_PROCESS = ROOT / "scripts" / "qgis_process"


@pytest.fixture(scope="session")
def qgis_process_env(tmp_path_factory):
    """The environment of a qgis_process run: this process's, with a fresh QGIS profile."""
    profile = tmp_path_factory.mktemp("qgis-profile")
    return dict(os.environ, IMPERVIOUSNESS_QGIS_PROFILE=str(profile))


@pytest.fixture(scope="session")
def qgis_process(qgis_process_env):
    """Run scripts/qgis_process (qgis_process.bin with the plugin enabled) in a fresh profile.

    `env` adds variables (e.g. TMPDIR, GDAL_CACHEMAX) to the run's environment.
    """

    def run(*args, check=True, env=None):
        result = subprocess.run([str(QGIS_PROCESS), *map(str, args)], capture_output=True, text=True,
                                env=dict(qgis_process_env, **(env or {})), timeout=900)
        if check and result.returncode != 0:
            raise AssertionError(f"qgis_process {' '.join(map(str, args))} failed "
                                 f"({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result

    return run


@pytest.fixture
def tmpfs(tmp_path):
    """Mount a small tmpfs (size in bytes, optionally read-only) under tmp_path; unmounted after.

    A real full or read-only file system: as root a chmod does not stop writes, a mount does.
    Needs mount privileges (root in the project's test machines); skipped with the reason if not.
    """
    mounted = []

    def mount(name, size, read_only=False):
        folder = tmp_path / name
        folder.mkdir()
        options = f"size={size}" + (",ro" if read_only else "")
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs to test write failures: {result.stderr.strip()}")
        mounted.append(folder)
        return folder

    yield mount
    for folder in reversed(mounted):
        subprocess.run(["umount", str(folder)], check=True)

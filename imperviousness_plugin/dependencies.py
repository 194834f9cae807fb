"""The Python packages the plugin needs beyond QGIS, checked and installed into the QGIS profile.

QGIS's Python (Debian's python3, OSGeo4W's, ...) comes with numpy, GDAL and usually SciPy; OpenCV
and ONNX Runtime are not part of it, and Debian 12 refuses `pip install --user` (the Python is
"externally managed"). So the plugin installs the missing packages with pip `--target` into a
folder of the user's QGIS profile (<profile>/python/dependencies), never into the system Python,
and puts that folder at the end of sys.path. The versions are those of requirements.txt: they
work with the numpy 1.24 of QGIS's Python, which pip leaves alone (--no-deps).

Nothing here imports the packages at module level: the plugin must load without them.
"""

import importlib.util
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Dependency:
    module: str        # the import name
    requirement: str   # the pip requirement (pinned as in requirements.txt)
    purpose: str       # what needs it, said to the user
    extra: tuple = ()  # its own requirements besides numpy (pip runs with --no-deps)


# Required: the status and change workflow needs them (models, change mask, calibration).
REQUIRED = (
    Dependency("cv2", "opencv-python-headless==4.10.0.84", "change mask (connected components)"),
    Dependency("onnxruntime", "onnxruntime==1.31.1", "U-Net prediction (imperviousness:predict)",
               ("flatbuffers==25.12.19", "protobuf==7.36.2", "packaging==26.4")),
    Dependency("scipy", "scipy==1.10.1", "IMD calibration (imperviousness:calibrate)"),
)
# Optional: one accelerator and one input kind; the workflow runs without them.
OPTIONAL = (
    Dependency("numba", "numba==0.60.0", "faster weighted quantiles in preprocess",
               ("llvmlite==0.43.0",)),
    Dependency("pystac_client", "pystac-client==0.9.1", "Sentinel-2 from STAC APIs",
               ("pystac==1.10.1", "requests==2.34.2")),
    Dependency("torch", "torch==2.13.0", "training U-Net models (imperviousness:trainmodel)"),
    Dependency("onnx", "onnx==1.23.2", "exporting trained models (imperviousness:trainmodel)"),
)


def target_folder():
    """<QGIS profile>/python/dependencies: where the plugin installs the packages."""
    from qgis.core import QgsApplication
    return os.path.join(QgsApplication.qgisSettingsDirPath(), "python", "dependencies")


def add_target_to_path(folder=None):
    """Put the install folder at the end of sys.path: QGIS's own packages (numpy) come first."""
    folder = folder or target_folder()
    if os.path.isdir(folder) and folder not in sys.path:
        sys.path.append(folder)
    importlib.invalidate_caches()
    return folder


def is_available(module):
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def missing(dependencies=REQUIRED):
    """The dependencies whose module cannot be imported."""
    return [dependency for dependency in dependencies if not is_available(dependency.module)]


def python_executable():
    """The Python that runs QGIS (sys.executable is the qgis binary inside QGIS desktop)."""
    candidates = [sys.executable, os.path.join(sys.exec_prefix, "bin", "python3"),
                  os.path.join(sys.exec_prefix, "python3.exe"), os.path.join(sys.exec_prefix, "python.exe")]
    for candidate in candidates:
        name = os.path.basename(candidate).lower()
        if name.startswith("python") and os.path.isfile(candidate):
            return candidate
    return "python3"


def install_command(dependencies, folder=None, wheel_folder=None):
    """The pip command that installs `dependencies` into the profile's folder (offline from
    `wheel_folder` when given).

    --no-deps with the dependencies' own requirements listed: pip --target ignores the installed
    packages and would otherwise put a second numpy (the newest) into the folder.
    """
    command = [python_executable(), "-m", "pip", "install", "--disable-pip-version-check",
               "--no-deps", "--upgrade", "--target", folder or target_folder()]
    if wheel_folder:
        command += ["--no-index", "--find-links", wheel_folder]
    for dependency in dependencies:
        command += [dependency.requirement, *dependency.extra]
    return command


def command_text(command):
    return " ".join(shlex.quote(part) for part in command)


def missing_message(dependencies, folder=None):
    """What is missing, what needs it and the exact command that installs it."""
    lines = ["HRL Imperviousness: missing Python packages:"]
    lines += [f"  - {d.requirement.split('==')[0]} ({d.module}): {d.purpose}" for d in dependencies]
    lines.append("Install them into the QGIS profile with:")
    lines.append("  " + command_text(install_command(dependencies, folder)))
    lines.append("(offline: add --no-index --find-links <folder of wheels>)")
    return "\n".join(lines)


def install(dependencies, folder=None, wheel_folder=None):
    """Run pip; returns (ok, output). The folder is put on sys.path when pip succeeds."""
    folder = folder or target_folder()
    os.makedirs(folder, exist_ok=True)
    command = install_command(dependencies, folder, wheel_folder)
    result = subprocess.run(command, capture_output=True, text=True)
    output = result.stdout + result.stderr
    if result.returncode != 0:
        return False, output
    add_target_to_path(folder)
    return True, output


class MissingDependency(Exception):
    """Raised by require(): the message names the packages and the install command."""


def dependency_of(module):
    """The Dependency of an import name (a top-level module of an unlisted one as is)."""
    top = module.split(".", 1)[0]
    for dependency in REQUIRED + OPTIONAL:
        if dependency.module == top:
            return dependency
    return Dependency(top, top, "")


def require(modules):
    """Raise MissingDependency when one of `modules` (import names) cannot be imported."""
    absent = [dependency_of(module) for module in modules if not is_available(module)]
    if absent:
        raise MissingDependency(missing_message(absent))

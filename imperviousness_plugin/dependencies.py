"""The Python packages the plugin needs beyond QGIS: declared, checked, never installed here.

QGIS's Python (Debian's python3, OSGeo4W's, conda's) comes with numpy and GDAL, often SciPy;
OpenCV and ONNX Runtime are not part of it. The required ones are declared the QGIS way:
requirements.txt beside this file, installed by the qpip plugin (metadata.txt names it in
plugin_dependencies) into <profile>/python/dependencies/<python version>. Users who manage their
Python themselves install them with apt, the OSGeo4W shell or conda: the messages below say how.

The provider always registers; an algorithm that needs a missing package refuses to run with a
message naming it (algorithms/base.py). Nothing here imports the packages at module level.
"""

import importlib.util
import os
from dataclasses import dataclass

REQUIREMENTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "requirements.txt")

QPIP = "the QGIS plugin qpip (Plugins > Manage and Install Plugins > qpip)"


@dataclass(frozen=True)
class Dependency:
    module: str        # the import name
    package: str       # the PyPI name (pip, OSGeo4W shell)
    debian: str        # the Debian/Ubuntu package, "" where Debian has none
    conda: str         # the conda-forge package
    purpose: str       # what needs it, said to the user


# Required (requirements.txt): the status and change workflow needs them.
REQUIRED = (
    Dependency("cv2", "opencv-python-headless", "python3-opencv", "opencv",
               "change mask (connected components)"),
    Dependency("onnxruntime", "onnxruntime", "", "onnxruntime", "U-Net prediction (imperviousness:predict)"),
    Dependency("scipy", "scipy", "python3-scipy", "scipy", "IMD calibration (imperviousness:calibrate)"),
)
# Optional extras (metadata `about`, README): the workflow runs without them.
OPTIONAL = (
    Dependency("numba", "numba", "python3-numba", "numba", "faster weighted quantiles in preprocess"),
    Dependency("requests", "requests", "python3-requests", "requests",
               "Sentinel-2 from STAC APIs (QGIS normally ships it)"),
    Dependency("torch", "torch", "", "pytorch", "training U-Net models (imperviousness:trainmodel)"),
    Dependency("onnx", "onnx", "python3-onnx", "onnx", "exporting trained models (imperviousness:trainmodel)"),
    Dependency("dask", "dask", "python3-dask", "dask", "the tile runner (imperviousness:runtiles)"),
    Dependency("distributed", "distributed", "python3-distributed", "distributed",
               "the tile runner (imperviousness:runtiles)"),
)


def is_available(module):
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def missing(dependencies=REQUIRED):
    """The dependencies whose module cannot be imported."""
    return [dependency for dependency in dependencies if not is_available(dependency.module)]


def names(dependencies):
    return ", ".join(dependency.package for dependency in dependencies)


def install_commands(dependencies):
    """[(where, command)]: how to install `dependencies` by hand, per kind of QGIS install.

    pip gets the required packages as requirements.txt (its ranges keep QGIS's numpy: pip
    without --target leaves an installed numpy alone when the range admits it), the optional
    ones by name."""
    required = [d for d in dependencies if d in REQUIRED]
    pip = " ".join([f'-r "{REQUIREMENTS}"'] * bool(required) + [d.package for d in dependencies if d not in REQUIRED])
    debian = " ".join(d.debian for d in dependencies if d.debian)
    commands = [("Debian/Ubuntu", f"sudo apt install {debian}")] if debian else []
    # Debian's Python is "externally managed": --user needs --break-system-packages.
    commands.append(("Debian/Ubuntu, with pip" if debian else "Debian/Ubuntu",
                     f"python3 -m pip install --user --break-system-packages {pip}"))
    commands.append(("Windows, OSGeo4W Shell", f"python -m pip install {pip}"))
    commands.append(("conda", "conda install -c conda-forge " + " ".join(d.conda for d in dependencies)))
    return commands


def missing_message(dependencies):
    """What is missing, what needs it, and how to install it: qpip first, then by hand."""
    lines = ["HRL Imperviousness: missing Python packages:"]
    lines += [f"  - {d.package} (import {d.module}): {d.purpose}" for d in dependencies]
    if any(d in REQUIRED for d in dependencies):
        lines.append(f"Install them with {QPIP},")
        lines.append("which installs the plugin's requirements.txt, or by hand into the Python that "
                     "runs QGIS, then restart QGIS:")
    else:
        lines.append("Optional packages (not installed by qpip): install them into the Python "
                     "that runs QGIS, then restart QGIS:")
    lines += [f"  {where}: {command}" for where, command in install_commands(dependencies)]
    return "\n".join(lines)


class MissingDependency(Exception):
    """Raised by require(): the message names the packages and how to install them."""


def dependency_of(module):
    """The Dependency of an import name (a top-level module of an unlisted one as is)."""
    top = module.split(".", 1)[0]
    for dependency in REQUIRED + OPTIONAL:
        if dependency.module == top:
            return dependency
    return Dependency(top, top, "", top, "")


def require(modules):
    """Raise MissingDependency when one of `modules` (import names) cannot be imported."""
    absent = [dependency_of(module) for module in modules if not is_available(module)]
    if absent:
        raise MissingDependency(missing_message(absent))

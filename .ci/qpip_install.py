"""Install a plugin's requirements.txt the way the qpip plugin does, without a QGIS desktop.

qpip (github.com/opengisch/qpip, a00_qpip/plugin.py, checked at d263935, June 2026) reads
<plugin>/requirements.txt line by line (blank lines, `#` and `-` lines skipped), evaluates each
line's PEP 508 marker, looks the distribution up with importlib.metadata on QGIS's Python (with
<profile>/python/dependencies/<X.Y> first on sys.path), and for every requirement that is missing
or whose installed version is outside the range runs

    <python> -um pip install <requirements...> --target <profile>/python/dependencies/<X.Y> --upgrade

That folder is put first on sys.path (and PYTHONPATH) at QGIS start. This script repeats those
steps with the same pip command, then says which numpy QGIS's Python now imports: pip with
--target ignores what is installed, so a requirement that depends on numpy brings its own numpy
into the folder, ahead of QGIS's.

Usage: python3 qpip_install.py REQUIREMENTS_TXT DEPENDENCIES_FOLDER
"""

import json
import subprocess
import sys
from importlib import metadata

try:
    from packaging.markers import default_environment
    from packaging.requirements import Requirement
except ImportError:  # Debian's pip vendors packaging; python3-packaging is not always installed
    from pip._vendor.packaging.markers import default_environment
    from pip._vendor.packaging.requirements import Requirement


def missing(requirements_path):
    """The requirement lines qpip would install: absent, or installed outside their range."""
    environment = default_environment()
    wanted = []
    with open(requirements_path, encoding="utf-8") as lines:
        for line in lines:
            line = line.strip()
            if not line or line.startswith("#") or line.startswith("-"):
                continue
            requirement = Requirement(line)
            if requirement.marker and not requirement.marker.evaluate(environment):
                continue
            try:
                version = metadata.distribution(requirement.name).metadata["Version"]
            except metadata.PackageNotFoundError:
                wanted.append(str(requirement))
                continue
            if requirement.specifier and not requirement.specifier.contains(version):
                wanted.append(str(requirement))
    return wanted


def main(requirements_path, target):
    sys.path.insert(0, target)      # as qpip does at QGIS start, before its check
    wanted = missing(requirements_path)
    print(f"qpip: to install into {target}: {wanted or 'nothing'}", flush=True)
    if wanted:
        command = [sys.executable, "-um", "pip", "install", *wanted, "--target", target, "--upgrade"]
        subprocess.run(command, check=True)
    # What QGIS's Python imports afterwards, with the folder first on its path.
    probe = ("import json, numpy, sys; from osgeo import gdal; "
             "print(json.dumps({'numpy': numpy.__version__, 'numpy_from': numpy.__file__, "
             "'gdal': gdal.__version__}))")
    seen = json.loads(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                                     check=True, env={"PYTHONPATH": target, "PATH": "/usr/bin:/bin"}
                                     ).stdout)
    shadowed = seen["numpy_from"].startswith(target)
    print(f"qpip: QGIS's Python now imports numpy {seen['numpy']} from {seen['numpy_from']}"
          + (" (the dependencies folder's copy, ahead of QGIS's own)" if shadowed else " (QGIS's own)"),
          flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:3])

"""`make package` builds a zip that QGIS installs and the QGIS plugin repository accepts.

Unpacked on a plugin path, qgis_process sees it. tools/plugin_checks.py (the repository's
validator, Bandit with its default rules, detect-secrets) passes on it with no blocking finding,
and reports each kind of broken zip the repository refuses.
"""

import configparser
import difflib
import os
import pathlib
import re
import subprocess
import sys
import zipfile

import pytest

from tools import plugin_checks

ROOT = pathlib.Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "imperviousness_plugin"


def _version():
    return re.search(r"^version=(.+)$", (ROOT / "metadata.txt").read_text(), re.M).group(1)


@pytest.fixture(scope="module")
def package():
    """(the zip's path, make's output)."""
    result = subprocess.run(["make", "-s", "package"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return ROOT / "dist" / f"imperviousness_plugin-{_version()}.zip", result.stdout


def test_package_zip_installs_and_registers_the_provider(package, tmp_path):
    archive, _output = package
    with zipfile.ZipFile(archive) as zipped:
        names = zipped.namelist()
        zipped.extractall(tmp_path / "plugins")
    for name in ("metadata.txt", "LICENSE", "requirements.txt", "__init__.py", "icon.svg"):
        assert f"imperviousness_plugin/{name}" in names
    assert any(name.startswith("imperviousness_plugin/models/") and name.endswith(".onnx") for name in names)
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)
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


def test_make_package_runs_the_repository_checks_with_no_blocking_finding(package):
    _archive, output = package
    assert "QGIS plugin repository checks (validator, Bandit, detect-secrets)" in output
    assert "BLOCKING" not in output
    assert re.search(r"^  0 blocking, 0 warnings, \d+ to set before publishing$", output, re.M)
    # The placeholders are named, with where to set them.
    for field in ("homepage", "tracker", "repository", "email"):
        assert re.search(rf"before publishing: {field} is a placeholder .* set it in metadata\.txt", output)
    assert "NOT READY TO PUBLISH" in output


def test_metadata_declares_what_the_repository_and_qgis_read():
    parser = configparser.ConfigParser()
    parser.optionxform = str
    parser.read(PLUGIN / "metadata.txt", encoding="utf-8")
    general = parser["general"]
    for field in plugin_checks.REQUIRED_METADATA:
        assert general.get(field), field
    assert general["qgisMaximumVersion"] == "4.99"
    assert general["plugin_dependencies"] == "qpip"
    assert general["category"] in ("Raster", "Vector", "Database", "Mesh", "Web")
    assert general["changelog"].startswith(general["version"])
    for extra in ("numba", "torch", "onnx", "dask", "distributed", "requests"):
        assert extra in general["about"], extra
    # One place for the public addresses: nowhere else in the repository.
    homepage = re.search(r"^homepage=https?://(.+)$", (ROOT / "metadata.txt").read_text(), re.M).group(1)
    assert _files_naming(homepage) == ["metadata.txt"]


def _files_naming(text):
    """The repository's files (no links, no build outputs) whose text contains `text`: a walk,
    not `git grep`, so that it also works on the copy without .git that CI tests in a root file
    system. The plugin folder's metadata.txt is a link to the top-level one."""
    skip = {".git", ".venv", "build", "dist", "__pycache__", ".pytest_cache", ".hypothesis"}
    found = []
    for path in ROOT.rglob("*"):
        relative = path.relative_to(ROOT)
        if skip & set(relative.parts) or path.is_symlink() or not path.is_file():
            continue
        try:
            content = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if text in content:
            found.append(relative.as_posix())
    return sorted(found)


def test_licence_is_the_gpl_2_text():
    """GPL-2.0-or-later as QGIS: the licence text is the GPL 2's, verbatim (Debian keeps it in
    base-files), and the README says "or later"."""
    text = (PLUGIN / "LICENSE").read_text()
    system = pathlib.Path("/usr/share/common-licenses/GPL-2").read_text()
    # Debian 13 carries the FSF's later edition of the same licence: a new address and new names
    # in the example disclaimer. Those lines alone may differ.
    edition = re.compile(r"Franklin Street|fsf\.org|gnu\.org/licenses|write to the Free Software|"
                         r"signature of|President of Vice")
    changed = [line for line in difflib.ndiff(text.splitlines(), system.splitlines())
               if line[:2] in ("- ", "+ ")]
    assert all(edition.search(line) for line in changed), changed
    first, second = (line.strip() for line in text.splitlines()[:2])
    assert (first, second) == ("GNU GENERAL PUBLIC LICENSE", "Version 2, June 1991")
    assert "GPL-2.0-or-later" in (ROOT / "README.md").read_text()


# -- broken zips: each reported as the repository would refuse it -------------------------------

METADATA = """[general]
name=Tiny
qgisMinimumVersion=3.22
qgisMaximumVersion=4.99
description=d
about=a
version=0.1
author=someone
email=someone@qgis.org
tracker=https://qgis.org/tracker
repository=https://qgis.org/repository
homepage=https://qgis.org
icon=icon.svg
"""


def _zip(path, files):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("tiny/", "")
        for name, text in files.items():
            archive.writestr(f"tiny/{name}", text)
    return path


def _tiny(**changes):
    files = {"__init__.py": "def classFactory(iface):\n    return None\n", "metadata.txt": METADATA,
             "LICENSE": "GPL", "icon.svg": "<svg/>"}
    files.update(changes)
    return {name: text for name, text in files.items() if text is not None}


def test_a_valid_tiny_plugin_passes(tmp_path):
    report = plugin_checks.check(_zip(tmp_path / "tiny.zip", _tiny()))
    assert (report.blocking, report.warnings, report.before_publishing) == ([], [], [])


@pytest.mark.parametrize("changes, expected", [
    ({"LICENSE": None}, "no LICENSE in the plugin folder tiny/"),
    ({"metadata.txt": METADATA.replace("about=a\n", "").replace("email=someone@qgis.org\n", "")},
     "metadata.txt lacks email, about"),
    ({"metadata.txt": METADATA.replace("https://qgis.org/tracker", "http://bugs")},
     "tracker is not a valid address: 'http://bugs'"),
    ({"metadata.txt": "name=no section\n"}, "metadata.txt cannot be read"),
    ({"metadata.txt": METADATA.replace("author=someone", "author=a/b")}, "the author name contains a slash"),
    ({"icon.svg": None}, "the icon icon.svg is not in the zip"),
    ({"__pycache__/x.cpython-311.pyc": "x"}, ".pyc file in the zip: tiny/__pycache__/x.cpython-311.pyc"),
    ({"run.py": "import subprocess\nsubprocess.call('ls ' + input(), shell=True)\n"},
     "bandit B602 tiny/run.py:2"),
    ({"keys.py": "AWS = 'AKIAIOSFODNN7EXAMPLE'\n"}, "detect-secrets AWS Access Key tiny/keys.py:1"),
    ({"run.py": "import subprocess\nsubprocess.run(['/bin/ls'])  # nosec B603  # a fixed argument list\n"}, None),
])
def test_broken_zips_are_reported(tmp_path, changes, expected):
    report = plugin_checks.check(_zip(tmp_path / "tiny.zip", _tiny(**changes)))
    if expected is None:  # a finding marked `# nosec` with its reason does not block
        assert report.blocking == []
    else:
        assert any(text.startswith(expected) for text in report.blocking), report.blocking


def test_a_zip_without_a_plugin_folder_and_placeholders_are_reported(tmp_path):
    flat = tmp_path / "flat.zip"
    with zipfile.ZipFile(flat, "w") as archive:
        archive.writestr("metadata.txt", METADATA)
    assert plugin_checks.check(flat).blocking == ["the zip has no plugin folder at its top"]
    placeholder = METADATA.replace("https://qgis.org/tracker", "https://example.org/t")
    report = plugin_checks.check(_zip(tmp_path / "tiny.zip", _tiny(**{"metadata.txt": placeholder})))
    assert report.blocking == []
    assert report.before_publishing == ["tracker is a placeholder (https://example.org/t): set it in metadata.txt"]


def test_the_command_line_fails_on_a_blocking_finding(tmp_path):
    broken = _zip(tmp_path / "tiny.zip", _tiny(LICENSE=None))
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "plugin_checks.py"), str(broken)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert "BLOCKING: no LICENSE in the plugin folder tiny/" in result.stdout


# -- requirements.txt as qpip reads it -----------------------------------------------------------

def _requirements():
    return [line for line in (PLUGIN / "requirements.txt").read_text().splitlines() if line.strip()]


def test_requirements_parse_as_qpip_reads_them_and_leave_numpy_and_gdal_to_qgis():
    from packaging.requirements import Requirement
    from packaging.version import Version

    from imperviousness_plugin import dependencies

    lines = _requirements()
    # qpip skips '#' and '-' lines but cannot parse a comment after a requirement: none at all.
    assert not any(line.lstrip().startswith(("#", "-")) or " #" in line for line in lines)
    requirements = [Requirement(line) for line in lines]
    assert not {r.name.lower() for r in requirements} & {"numpy", "gdal", "pygdal"}
    assert {r.name for r in requirements} == {d.package for d in dependencies.REQUIRED}
    # One line per package for each supported Python: 3.11 (QGIS 3.22) and 3.13 (3.40, 3.44).
    for python in ("3.11", "3.13"):
        chosen = [r for r in requirements if r.marker is None or r.marker.evaluate({"python_version": python})]
        assert sorted(r.name for r in chosen) == sorted(d.package for d in dependencies.REQUIRED), python
    # Versions known to work here (QGIS 3.22's numpy 1.24: the dev venv; 3.40/3.44: what qpip
    # installed) are admitted for this Python.
    import cv2
    import onnxruntime
    import scipy
    here = {"opencv-python-headless": cv2.__version__, "onnxruntime": onnxruntime.__version__,
            "scipy": scipy.__version__}
    for requirement in requirements:
        if requirement.marker is None or requirement.marker.evaluate():
            assert requirement.specifier.contains(Version(here[requirement.name])), requirement

"""The QGIS plugin repository's checks on a plugin zip, run by `make package`.

Typed in from the repository's own code (github.com/qgis/QGIS-Plugins-Website):
- qgis-app/plugins/validator.py: the upload is refused on any of its errors (size, zip layout,
  names, metadata fields, icon, URLs, LICENSE).
- qgis-app/plugins/security_scanner.py with the default rule set of
  management/commands/data/*_rules.json: Bandit runs with every enabled rule (-t) and
  detect-secrets with every enabled detector; both checks are "critical", so any finding of
  either marks the version "blocked" (update_validation_status.py). Bandit honours `# nosec`.
  The file analysis (hidden, executable, binary files) is a "warning" check: reported here.

Not checked here (it needs the network): whether the homepage, tracker and repository answer.
Placeholder addresses (example.org) are listed as "before publishing": the zip is fine to
install, not to upload.

Usage: python tools/plugin_checks.py dist/imperviousness_plugin-0.1.0.zip
Exit status 1 when a blocking finding exists.
"""

import configparser
import json
import os
import re
import subprocess  # nosec B404  # runs bandit and detect-secrets, as the repository does
import sys
import tempfile
import zipfile
from urllib.parse import urlparse

MAX_SIZE = 25_000_000  # PLUGIN_MAX_UPLOAD_SIZE
REQUIRED_METADATA = ("name", "description", "version", "qgisMinimumVersion", "author", "email",
                     "about", "tracker", "repository")
FORBIDDEN_URLS = {"tracker": "http://bugs", "repository": "http://repo", "homepage": "http://homepage"}
FORBIDDEN_DIRS = ("__MACOSX", ".git", "__pycache__")
# bandit_rules.json: the rules with "enabled": true (all but B109, B404, B410, B411).
BANDIT_RULES = (
    "B101,B102,B103,B104,B105,B106,B107,B108,B110,B111,B112,B113,B201,B202,B301,B302,B303,B304,"
    "B305,B306,B307,B308,B310,B311,B312,B313,B314,B315,B316,B317,B318,B319,B320,B321,B323,B324,"
    "B401,B402,B403,B405,B406,B407,B408,B409,B412,B413,B501,B502,B503,B504,B505,B506,B507,B508,"
    "B509,B601,B602,B603,B604,B605,B606,B607,B608,B609,B610,B611,B612,B613,B614,B615,B701,B702,"
    "B703,B704")
# secrets_rules.json: the one detector disabled by default.
SECRETS_DISABLED = ("IPPublicDetector",)
SUSPICIOUS_EXTENSIONS = (".exe", ".dll", ".so", ".dylib", ".bat", ".sh", ".ps1", ".cmd")
HIDDEN_ALLOWED = (".gitignore", ".gitattributes", ".bandit", ".secrets.baseline", ".flake8")
PLACEHOLDER_HOSTS = ("example.org", "example.com", "example.net")


class Report:
    def __init__(self):
        self.blocking, self.warnings, self.before_publishing = [], [], []

    def lines(self):
        yield from (f"BLOCKING: {text}" for text in self.blocking)
        yield from (f"warning: {text}" for text in self.warnings)
        yield from (f"before publishing: {text}" for text in self.before_publishing)


def read_metadata(archive, package):
    parser = configparser.ConfigParser()
    parser.optionxform = str
    parser.read_string(archive.read(f"{package}/metadata.txt").decode("utf-8"))
    if not parser.has_section("general"):
        raise ValueError("metadata.txt has no [general] section")
    return {key: value.strip() for key, value in parser.items("general")}


def check_layout(path, archive, report):
    """The validator's zip checks; returns the top folder's name (None when there is none)."""
    if os.path.getsize(path) > MAX_SIZE:
        report.blocking.append(f"the zip is {os.path.getsize(path)} bytes; the limit is {MAX_SIZE}")
    names = archive.namelist()
    for name in names:
        if ".." in name or name.startswith("/") or "\\" in name or re.match(r"^[A-Za-z]:", name):
            report.blocking.append(f"path information in the zip: {name}")
        if ".pyc" in name:
            report.blocking.append(f".pyc file in the zip: {name}")
        if set(name.split("/")) & set(FORBIDDEN_DIRS):
            report.blocking.append(f"forbidden folder in the zip: {name}")
    if archive.testzip():
        report.blocking.append(f"bad zip entry: {archive.testzip()}")
    if len({name.split("/")[0] for name in names}) > 1:
        report.warnings.append("the zip has several top-level folders")
    if not names or "/" not in names[0]:
        report.blocking.append("the zip has no plugin folder at its top")
        return None
    package = names[0].split("/")[0]
    if not package.isidentifier() or not re.match(r"^[A-Za-z][A-Za-z0-9-_]+$", package):
        report.blocking.append(f"the top folder {package!r} is not a valid Python identifier")
    for required in ("__init__.py", "metadata.txt", "LICENSE"):
        if f"{package}/{required}" not in names:
            report.blocking.append(f"no {required} in the plugin folder {package}/")
    return package


def check_metadata(archive, package, report):
    try:
        metadata = read_metadata(archive, package)
    except (KeyError, ValueError, configparser.Error, UnicodeDecodeError) as error:
        report.blocking.append(f"metadata.txt cannot be read: {error}")
        return {}
    missing = [field for field in REQUIRED_METADATA if not metadata.get(field)]
    if missing:
        report.blocking.append(f"metadata.txt lacks {', '.join(missing)}")
    if "/" in metadata.get("author", ""):
        report.blocking.append("the author name contains a slash")
    if "supportsQt6" in metadata:
        report.warnings.append("supportsQt6 is deprecated: qgisMaximumVersion says it")
    icon = metadata.get("icon", "")
    if icon and f"{package}/{icon.removeprefix('./')}" not in archive.namelist():
        report.blocking.append(f"the icon {icon} is not in the zip")
    for field, forbidden in FORBIDDEN_URLS.items():
        url = metadata.get(field)
        if url is None:
            continue
        parsed = urlparse(url)
        if url == forbidden or not (parsed.scheme and parsed.netloc):
            report.blocking.append(f"{field} is not a valid address: {url!r}")
        elif parsed.hostname in PLACEHOLDER_HOSTS:
            report.before_publishing.append(f"{field} is a placeholder ({url}): set it in metadata.txt")
    if metadata.get("email", "").split("@")[-1] in PLACEHOLDER_HOSTS:
        report.before_publishing.append(f"email is a placeholder ({metadata['email']}): set it in metadata.txt")
    return metadata


def check_files(archive, report):
    """The file analysis (a warning check on the site)."""
    for info in archive.infolist():
        name = os.path.basename(info.filename)
        if name.startswith(".") and name not in HIDDEN_ALLOWED:
            report.warnings.append(f"hidden file: {info.filename}")
        if info.filename.lower().endswith(SUSPICIOUS_EXTENSIONS):
            report.warnings.append(f"executable or binary file: {info.filename}")
        if (info.external_attr >> 16) & 0o111 and not info.is_dir():
            report.warnings.append(f"executable permission: {info.filename}")


def run_bandit(folder, report):
    command = [sys.executable, "-m", "bandit", "-r", folder, "-f", "json", "--quiet", "-t", BANDIT_RULES]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)  # nosec B603
    if not result.stdout.strip():
        report.blocking.append(f"bandit did not run: {result.stderr.strip()[:300]}")
        return
    for issue in json.loads(result.stdout)["results"]:
        where = os.path.relpath(issue["filename"], folder)
        report.blocking.append(f"bandit {issue['test_id']} {where}:{issue['line_number']}: {issue['issue_text']}")


def run_detect_secrets(folder, report):
    command = [sys.executable, "-m", "detect_secrets", "scan", "--all-files",
               "--exclude-files", r"metadata\.txt", "--exclude-files", r"\.secrets\.baseline"]
    for detector in SECRETS_DISABLED:
        command += ["--disable-plugin", detector]
    result = subprocess.run(command + ["."], cwd=folder, capture_output=True, text=True, timeout=600)  # nosec B603
    if result.returncode != 0 or not result.stdout.strip():
        report.blocking.append(f"detect-secrets did not run: {result.stderr.strip()[:300]}")
        return
    for path, secrets in json.loads(result.stdout)["results"].items():
        for secret in secrets:
            report.blocking.append(f"detect-secrets {secret['type']} {path}:{secret['line_number']}")


def check(path):
    """All checks on the zip at `path`; returns the Report."""
    report = Report()
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as error:
        report.blocking.append(f"cannot unzip {path}: {error}")
        return report
    with archive, tempfile.TemporaryDirectory(prefix="plugin-checks-") as folder:
        package = check_layout(path, archive, report)
        if package is None:
            return report
        check_metadata(archive, package, report)
        check_files(archive, report)
        archive.extractall(folder)
        run_bandit(folder, report)
        run_detect_secrets(folder, report)
    return report


def main(argv):
    if len(argv) != 1:
        print(__doc__.split("Usage: ", 1)[1], file=sys.stderr)
        return 2
    report = check(argv[0])
    print(f"QGIS plugin repository checks (validator, Bandit, detect-secrets) on {argv[0]}:")
    for line in report.lines():
        print("  " + line)
    print(f"  {len(report.blocking)} blocking, {len(report.warnings)} warnings, "
          f"{len(report.before_publishing)} to set before publishing")
    if report.before_publishing:
        print("  NOT READY TO PUBLISH: the zip installs in QGIS, but set the fields above in "
              "metadata.txt before uploading it to the QGIS plugin repository.")
    return 1 if report.blocking else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""A local wheel folder made from the distributions installed in this Python (no network).

The desktop test installs the plugin's dependencies offline, as a user without internet would
(`pip install --no-index --find-links <folder>`). The wheels are rebuilt from what the venv has
installed: the files its RECORD lists (bytecode left out), the dist-info with a fresh RECORD,
named with the wheel tag of its WHEEL file. Stored without compression: quick to write and read.
"""

import base64
import hashlib
import importlib.metadata
import os
import zipfile

# dist-info files that describe one installation, not the package
_INSTALL_ONLY = {"INSTALLER", "REQUESTED", "RECORD", "direct_url.json"}


def _digest(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def wheel_from_installed(name, folder):
    """Write the wheel of the installed distribution `name` into `folder`; returns its path."""
    dist = importlib.metadata.distribution(name)
    wheel_info = dist.read_text("WHEEL") or ""
    tags = [line.split(":", 1)[1].strip() for line in wheel_info.splitlines() if line.startswith("Tag:")]
    if not tags:
        raise ValueError(f"{name} was not installed from a wheel (no Tag in its WHEEL file)")
    project = dist.metadata["Name"].replace("-", "_")
    # py2-none-any and py3-none-any -> py2.py3-none-any (the compressed tag set of the name)
    parts = [".".join(dict.fromkeys(tag.split("-")[i] for tag in tags)) for i in range(3)]
    path = os.path.join(folder, f"{project}-{dist.version}-{'-'.join(parts)}.whl")
    if os.path.exists(path):
        return path
    records = []
    temporary = path + ".part"
    with zipfile.ZipFile(temporary, "w", zipfile.ZIP_STORED) as wheel:
        for file in dist.files:
            relative = str(file)
            if relative.endswith(".pyc") or relative.startswith("..") or (
                    ".dist-info/" in relative and relative.rsplit("/", 1)[1] in _INSTALL_ONLY):
                continue
            source = dist.locate_file(file)
            if not os.path.isfile(source):
                continue
            with open(source, "rb") as handle:
                data = handle.read()
            wheel.writestr(relative, data)
            records.append(f"{relative},{_digest(data)},{len(data)}")
        info_dir = next(str(f).split("/", 1)[0] for f in dist.files if ".dist-info/" in str(f))
        records.append(f"{info_dir}/RECORD,,")
        wheel.writestr(f"{info_dir}/RECORD", "\n".join(records) + "\n")
    os.replace(temporary, path)
    return path


def wheel_folder(names, folder):
    os.makedirs(folder, exist_ok=True)
    return [wheel_from_installed(name, folder) for name in names]

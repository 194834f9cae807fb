"""Run the EEA QC tool's own raster checks, unchanged, on the zips of an EEA delivery.

The QC tool (github.com/eea/copernicus_quality_tools, EUPL 1.2) is not part of this repository
and is never copied into it: at test time `extract()` takes `src/qc_tool`, the product
definitions and the licence at commit COMMIT out of a local clone (the environment variable
QC_TOOL_REPO, a bare or normal git directory) into a pytest temporary folder, and `run()` runs the
checks in a subprocess (this file as a script) so that the tool's imports and its GDAL settings
stay out of the test process.

The runner follows the tool's job loop (qc_tool.worker.dispatch.dispatch): for each step of the
product definition it merges the step's parameters with the job's (tmp_dir, output_dir, filepath,
step_nr), calls the check's run_check(params, status) with the tool's own CheckStatus, and feeds
the status' params (unzip_dir, raster_layer_defs, ...) to the next steps. Not run:

* inspire: after finding the metadata XML it calls the INSPIRE validator web service, which
  cannot be reached offline; the runner calls the check's own `locate_xml_file` instead, which is
  how the check finds the XML.
* gap: needs the EEA's boundary masks (BOUNDARY_DIR), which are not public.

Modules the tool imports at module level but no raster check uses (boto3, PyPDF2, checksumdir,
reportlab: S3 download, PDF reports) are replaced by placeholders when they are not installed;
calling anything from a placeholder raises, so a check that needed one would fail loudly.
"""

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import io
import json
import os
import pathlib
import subprocess
import sys
import tarfile
import types

COMMIT = "9a546f8f"     # release 2.4.5
DEFAULT_REPO = "/work/.mirror/eea+copernicus_quality_tools/repo"
RASTER_CHECKS = ("unzip", "naming", "attribute", "epsg", "pixel_size", "origin", "bit_depth",
                 "compress", "value", "tile", "color")
NOT_RUN = {"inspire": "the INSPIRE validator is a web service (only locating the XML is checked)",
           "gap": "needs the EEA boundary masks, which are not public"}
ABSENT_OK = ("boto3", "PyPDF2", "checksumdir", "reportlab")


def repository():
    """The QC tool's git directory, or None when there is none on this machine."""
    path = os.environ.get("QC_TOOL_REPO", DEFAULT_REPO)
    return path if os.path.isdir(path) else None


def extract(target):
    """Extract src/qc_tool, the definitions and the licence at COMMIT into `target`."""
    repo = repository()
    git_dir = os.path.join(repo, ".git") if os.path.isdir(os.path.join(repo, ".git")) else repo
    archive = subprocess.run(
        ["git", f"--git-dir={git_dir}", "archive", "--format=tar", COMMIT, "src/qc_tool",
         "product_definitions", "LICENSE"], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target)
    return pathlib.Path(target)


def definition_name(zip_name):
    """clms_hrlnvlcc_imd_s2021_r10m_e47n14_... -> clms_hrlnvlcc_imd_s2021_r10m.json (c2018-2021 ->
    c1821, as the 2021 definitions are named); clms_nvlcc_imcc_c2021-2024_r20m_e47n14_... ->
    clms_nvlcc_imcc_c2021-2024_r20m.json (the 2024 definitions keep the file names' period)."""
    prefix = "clms_hrlnvlcc" if zip_name.startswith("clms_hrlnvlcc_") else "clms_nvlcc"
    code, period, resolution = zip_name[len(prefix) + 1:].split("_")[:3]
    if period.startswith("c") and prefix == "clms_hrlnvlcc":
        first, second = period[1:].split("-")
        period = f"c{first[2:]}{second[2:]}"
    return f"{prefix}_{code}_{period}_{resolution}.json"


def run(tool, zips, work):
    """{zip name: {check: {"status", "messages"}, "inspire_xml": name or None}} for each zip."""
    jobs = [(str(path), str(tool / "product_definitions" / definition_name(path.name)))
            for path in zips]
    result = subprocess.run([sys.executable, __file__, str(tool / "src"), str(work), json.dumps(jobs)],
                            capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise AssertionError(f"the QC runner failed:\n{result.stdout}\n{result.stderr}")
    return json.loads(result.stdout.splitlines()[-1])


# -- the subprocess ------------------------------------------------------------------------------

class _Placeholder(types.ModuleType):
    """An absent module: any attribute is another placeholder; calling one raises."""

    __path__ = []

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Placeholder(f"{self.__name__}.{name}")

    def __call__(self, *args, **kwargs):
        raise RuntimeError(f"{self.__name__} is not installed here, yet a QC check called it")


class _PlaceholderFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, names):
        self.names = set(names)

    def find_spec(self, fullname, path, target=None):
        if fullname.split(".")[0] in self.names:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        return _Placeholder(spec.name)

    def exec_module(self, module):
        pass


def _run_definition(definition, zip_path, work):
    from qc_tool.worker.dispatch import CheckStatus

    job = {"tmp_dir": work / "tmp", "output_dir": work / "output", "filepath": pathlib.Path(zip_path),
           "boundary_dir": None, "skip_inspire_check": True}
    for folder in (job["tmp_dir"], job["output_dir"]):
        folder.mkdir(parents=True)
    results = {}
    for step_nr, step in enumerate(definition["steps"], start=1):
        check = step["check_ident"].rsplit(".", 1)[1]
        if check not in RASTER_CHECKS:
            continue
        params = dict(step.get("parameters", {}), **job, step_nr=step_nr)
        status = CheckStatus()
        importlib.import_module(step["check_ident"]).run_check(params, status)
        results[check] = {"status": status.status, "messages": status.messages}
        job.update(status.status_properties)
        job.update(status.params)
        if status.is_aborted():
            break
    if "raster_layer_defs" in job:
        from qc_tool.raster.inspire import locate_xml_file
        layer = pathlib.Path(job["raster_layer_defs"]["raster"]["src_filepath"])
        found = locate_xml_file(job["unzip_dir"], layer)
        results["inspire_xml"] = found.name if found else None
        # The attribute check again from the .tif.vat.dbf alone (GDAL's table removed).
        pathlib.Path(str(layer) + ".aux.xml").unlink(missing_ok=True)
        status = CheckStatus()
        importlib.import_module("qc_tool.raster.attribute").run_check(
            dict(next(s for s in definition["steps"] if s["check_ident"].endswith(".attribute"))
                 ["parameters"], **job), status)
        results["attribute_vat_dbf"] = {"status": status.status, "messages": status.messages}
    return results


def _main(source, work, jobs):
    missing = [name for name in ABSENT_OK if importlib.util.find_spec(name) is None]
    sys.meta_path.insert(0, _PlaceholderFinder(missing))
    sys.path.insert(0, source)
    results = {}
    for index, (zip_path, definition_path) in enumerate(jobs):
        definition = json.loads(pathlib.Path(definition_path).read_text())
        results[os.path.basename(zip_path)] = _run_definition(
            definition, zip_path, pathlib.Path(work) / f"job{index}")
    print(json.dumps(results))


if __name__ == "__main__":
    _main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]))

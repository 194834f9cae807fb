"""Which failures of a whole-suite run on a newer QGIS decide CI.

Usage: python3 gate.py JUNIT_XML GATED_FILE...

The tests in GATED_FILE (every algorithm, the shipped models end to end, the delivery and EEA QC
checks, qgis_process behaviour, the desktop test, the package) must pass on every supported QGIS:
a failure there fails CI. A failure elsewhere is printed as reported-not-gating: those tests
exercise the development venv's pinned tools (PyTorch's exporter, the test servers), which a
root file system gets in the versions Debian 13 or pip chooses, not the plugin on that QGIS.
Exit 0 when no gated test failed, 1 otherwise, 2 when the JUnit file says nothing ran.
"""

import sys
import xml.etree.ElementTree as ElementTree  # nosec B405: our own pytest JUnit file, not untrusted


def failures(junit_path):
    """[(file, test id)] of every failed or errored test case in the JUnit file."""
    root = ElementTree.parse(junit_path).getroot()  # nosec B314: see the import
    cases = list(root.iter("testcase"))
    failed = []
    for case in cases:
        if case.find("failure") is not None or case.find("error") is not None:
            module = case.get("classname", "").split("::")[0]
            path = module.replace(".", "/").rsplit("/", 1)
            file = "/".join(path) + ".py" if path[-1].startswith("test_") else "/".join(path[:-1]) + ".py"
            failed.append((file, f"{case.get('classname')}::{case.get('name')}"))
    return cases, failed


def main(junit_path, gated):
    cases, failed = failures(junit_path)
    if not cases:
        print(f"gate: {junit_path} lists no test case")
        return 2
    blocking = [test for file, test in failed if file in gated]
    reported = [test for file, test in failed if file not in gated]
    for test in reported:
        print(f"gate: reported, not gating: {test}")
    for test in blocking:
        print(f"gate: FAILED (gating): {test}")
    print(f"gate: {len(cases)} tests, {len(blocking)} gating failures, {len(reported)} reported")
    return 1 if blocking else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], set(sys.argv[2:])))

"""tools/build_models.py regenerates every committed .model3 byte for byte (on QGIS 3.22, which
wrote them; on a newer QGIS, as that QGIS writes both), and the README's
algorithm table is the one tools/algorithm_docs.py renders from the algorithm classes."""

import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))


def build_models(*arguments):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, str(ROOT / "tools" / "build_models.py"), *map(str, arguments)],
                   cwd=ROOT, env=env, check=True, capture_output=True, timeout=600)


# What QGIS >= 3.40 writes differently for the same model read from a 3.22 file: the model format
# version it read the file as (a file without one is "Version1", a model built in this QGIS
# "Version2"), and an empty static value, which it reads back as no value.
READ_FROM_3_22 = ((re.compile(r'\n *<Option type="QString" name="internal_version" value="Version\d"/>'), ""),
                  (re.compile(r'<Option type="QString" name="static_value" value=""/>'),
                   '<Option type="invalid" name="static_value"/>'))


def comparable(path):
    """The .model3 text with what READ_FROM_3_22 lists made equal."""
    text = path.read_text(encoding="utf-8")
    for pattern, replacement in READ_FROM_3_22:
        text = pattern.sub(replacement, text)
    return text


def test_models_regenerate_byte_identically(tmp_path):
    from qgis.core import Qgis

    generated, rewritten = tmp_path / "generated", tmp_path / "rewritten"
    build_models(generated)
    build_models("--rewrite", ROOT / "models", rewritten)
    committed = sorted((ROOT / "models").glob("*.model3"))
    assert [path.name for path in committed] == sorted(path.name for path in generated.glob("*.model3"))
    for path in committed:
        # Both written by the running QGIS: the committed model, as this QGIS reads and writes it,
        # is the one the builder generates (QGIS >= 3.40 writes keys 3.22 does not know).
        assert comparable(generated / path.name) == comparable(rewritten / path.name), (
            f"{path.name} differs from what tools/build_models.py generates: run it and commit models/")
        if Qgis.QGIS_VERSION_INT < 32400:
            # The committed files are written by QGIS 3.22, the oldest supported: there, byte for byte.
            assert (generated / path.name).read_bytes() == path.read_bytes(), path.name


def test_readme_algorithm_table_is_generated():
    import algorithm_docs

    table = algorithm_docs.readme_table((ROOT / "README.md").read_text(encoding="utf-8"))
    assert table == algorithm_docs.algorithm_table(), \
        "README.md's algorithm table is stale: run tools/algorithm_docs.py --write"
    # One row per algorithm of the provider, each with its ATBD section and summary.
    rows = table.splitlines()[2:]
    from imperviousness_plugin.algorithms import all_algorithms
    assert len(rows) == len(all_algorithms()) == 17 and "| `imperviousness:aggregate` | 3 Aggregation and change | 4.2.4 |" in table


def test_models_list_their_inputs_in_workflow_order(provider):
    """The models store their parameterOrder (QGIS >= 3.14 applies it on loading; without it
    the dialogs and `qgis_process help` list the inputs alphabetically)."""
    from qgis.core import QgsApplication

    model = QgsApplication.processingRegistry().algorithmById("imperviousness:hrl_imperviousness")
    names = [definition.name() for definition in model.parameterDefinitions()]
    assert names == ["S2_A", "S2_B", "YEAR_A", "YEAR_B", "IMD_A", "IBU_A", "CLCPLUS_A", "CLCPLUS_B",
                     "MODELS_IMD", "MODELS_IBU", "OUTPUT_FOLDER"]
    help_lines = [line.split(":")[0] for line in model.shortHelpString().splitlines() if line.startswith("- ")]
    assert help_lines == [f"- {name}" for name in names]

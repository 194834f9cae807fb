"""The code's layout: the README's architecture tree, the QGIS-free core, no import cycles."""

import ast
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "imperviousness_plugin"


def _readme_tree():
    """The folder paths listed in the README's Architecture code block."""
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    block = text.split("## Architecture", 1)[1].split("```text", 1)[1].split("```", 1)[0]
    paths, stack = [], []
    for line in block.splitlines():
        match = re.match(r"^( *)(\S+/)\s", line + " ")
        if not match:
            continue
        depth = len(match.group(1)) // 2
        stack[depth:] = [match.group(2).rstrip("/")]
        paths.extend(os.path.join(*stack[:-1], part) for part in match.group(2).rstrip("/").split("/, "))
    return paths


def _package_folders():
    folders = []
    # models/ is a link to the repository's models/ folder: followed, it is part of the package.
    for folder, subfolders, files in os.walk(os.path.join(ROOT, PACKAGE), followlinks=True):
        subfolders[:] = [name for name in subfolders if name != "__pycache__"]
        folders.append(os.path.relpath(folder, ROOT))
    return folders


def _modules():
    """{dotted module name: path} of the shipped package."""
    modules = {}
    for folder, subfolders, files in os.walk(os.path.join(ROOT, PACKAGE)):
        subfolders[:] = [name for name in subfolders if name != "__pycache__"]
        for name in files:
            if name.endswith(".py"):
                relative = os.path.relpath(os.path.join(folder, name), ROOT)[:-3]
                dotted = relative.replace(os.sep, ".")
                modules[dotted[:-len(".__init__")] if dotted.endswith(".__init__") else dotted] = \
                    os.path.join(folder, name)
    return modules


def _imports(module, path):
    """Absolute names of the modules `module` imports (relative imports resolved)."""
    tree = ast.parse(open(path, encoding="utf-8").read())
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            if node.module:  # `from . import x` imports x, not the package's __init__ again
                names.append(base)
            names.extend(f"{base}.{alias.name}" for alias in node.names)
    return names


def test_readme_tree_lists_every_package_folder_and_nothing_else():
    listed = [path for path in _readme_tree() if path.startswith(PACKAGE)]
    assert sorted(listed) == sorted(_package_folders())
    for path in _readme_tree():
        assert os.path.isdir(os.path.join(ROOT, path)), f"README lists {path}, which does not exist"


def test_core_never_imports_qgis_and_nothing_shipped_imports_tools():
    for module, path in _modules().items():
        imported = _imports(module, path)
        # The tile runner's workers and the graph definition run without QGIS too.
        if module.startswith((f"{PACKAGE}.core", f"{PACKAGE}.runner", f"{PACKAGE}.graph")):
            assert not [name for name in imported if name.split(".")[0] in ("qgis", "processing")], module
        assert not [name for name in imported if name.split(".")[0] == "tools"], module


# The layers, lowest first: a module imports only from its own layer or below (README
# "Architecture"; tools/module_graph.py draws the same ranks). The product catalogue and its
# legends are definitions every layer may name; publishing the products is the core's top.
LAYERS = [("core.errors", "core.progress", "core"), ("core.io",),
          ("core.products.catalogue", "core.products.styles"), ("core.kernels",), ("core.features",),
          ("core.unet",), ("core.status",), ("core.change",), ("core.products",), ("steps",), ("graph",),
          ("runner",), ("compat", "dependencies", "layers", "widgets"), ("algorithms",),
          ("", "provider", "plugin", "resources")]


def layer_of(module):
    """The rank of a module of the package in LAYERS (the longest matching prefix decides)."""
    relative = module[len(PACKAGE) + 1:] if module != PACKAGE else ""
    best = None
    for rank, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if relative == prefix or relative.startswith(prefix + ".") or (prefix == "" and "." not in relative):
                if best is None or len(prefix) > best[1]:
                    best = (rank, len(prefix))
    return best[0]


def _docstring_only(path):
    body = ast.parse(open(path, encoding="utf-8").read()).body
    return all(isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) for node in body)


def import_edges():
    """{(importer, imported)} between modules of the package (parents' implicit imports and
    packages whose __init__ holds only a docstring, as in `from ..products import styles`, left out)."""
    modules = _modules()
    empty = {module for module, path in modules.items() if path.endswith("__init__.py") and _docstring_only(path)}
    return {(module, name) for module, path in modules.items() for name in _imports(module, path)
            if name in modules and name not in empty and not module.startswith(name + ".") and name != module}


def test_nothing_imports_upward():
    upward = sorted(f"{a} -> {b}" for a, b in import_edges() if layer_of(b) > layer_of(a))
    assert not upward, "imports running up the layers:\n" + "\n".join(upward)


def test_no_import_cycle_between_modules():
    modules = _modules()
    # A module's parent packages are imported implicitly before it; only other edges form cycles.
    graph = {module: {name for name in _imports(module, path)
                      if name in modules and not module.startswith(name + ".") and name != module}
             for module, path in modules.items()}
    state = {}

    def visit(module, trail):
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                raise AssertionError("import cycle: " + " -> ".join(trail + [module, target]))
            if target not in state:
                visit(target, trail + [module])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [])


# -- literals that have one home: parameter ids (the step catalogue), creation options (profiles) ---

# GeoTIFF creation option names: a literal naming one belongs in core/io/profiles.py.
CREATION_OPTION = re.compile(r"^(TILED|COMPRESS|PREDICTOR|BLOCKXSIZE|BLOCKYSIZE|BIGTIFF|INTERLEAVE|SPARSE_OK|"
                             r"ZLEVEL|NUM_THREADS|PHOTOMETRIC|NBITS)(=|$)")
LITERAL_HOMES = {"parameter": (f"{PACKAGE}/steps/",), "creation option": (f"{PACKAGE}/core/io/profiles.py",)}
# Product keys are named by the product catalogue (publish's parameters are named after them).
PRODUCT_CATALOGUE = f"{PACKAGE}/core/products/catalogue.py"


def parameter_names():
    from imperviousness_plugin.steps.catalogue import MODEL, STEPS
    return {name for step in list(STEPS.values()) + [MODEL] for name in step.names}


def count_literals(root, names):
    """{kind: {file: count}} of string literals in the shipped package and tools/ that are a
    parameter id (one of `names`) or name a GeoTIFF creation option."""
    counts = {"parameter": {}, "creation option": {}}
    for top in (PACKAGE, "tools"):
        for folder, subfolders, files in os.walk(os.path.join(root, top)):
            subfolders[:] = [name for name in subfolders if name != "__pycache__"]
            for name in files:
                if not name.endswith(".py"):
                    continue
                path = os.path.join(folder, name)
                relative = os.path.relpath(path, root).replace(os.sep, "/")
                for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
                    if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                        continue
                    if node.value in names and relative != PRODUCT_CATALOGUE:
                        kind = "parameter"
                    elif CREATION_OPTION.match(node.value):
                        kind = "creation option"
                    else:
                        continue
                    counts[kind][relative] = counts[kind].get(relative, 0) + 1
    return counts


def stray_literals(counts):
    return {kind: {path: n for path, n in files.items() if not path.startswith(LITERAL_HOMES[kind])}
            for kind, files in counts.items()}


# Where parameter ids were typed again before the step catalogue (issue 20): the adapters, the
# graphs, the model builder and the tile runner's calls. The core still names parameters in its
# error messages (the text the user reads), and the product catalogue names the products.
NO_PARAMETER_LITERALS = (f"{PACKAGE}/algorithms/", f"{PACKAGE}/graph.py", f"{PACKAGE}/runner/steps.py",
                         "tools/build_models.py")


def test_parameter_ids_and_creation_options_have_one_home():
    """A parameter id typed as a string in the adapters, graphs, model builder or runner steps, or
    a GeoTIFF creation option anywhere outside core/io/profiles.py, fails: they belong in the
    step catalogue and the profiles."""
    stray = stray_literals(count_literals(ROOT, parameter_names()))
    assert stray["creation option"] == {}
    assert {path: n for path, n in stray["parameter"].items() if path.startswith(NO_PARAMETER_LITERALS)} == {}


def test_the_literal_counter_finds_literals(tmp_path):
    """The counter itself: a stray id and a stray option in a scratch tree are found."""
    package = tmp_path / PACKAGE / "algorithms"
    package.mkdir(parents=True)
    (package / "x.py").write_text('A = {"RESOLUTION": 1}\nB = ["COMPRESS=LZW", f"ZLEVEL={1}"]\n')
    stray = stray_literals(count_literals(str(tmp_path), {"RESOLUTION"}))
    assert stray == {"parameter": {f"{PACKAGE}/algorithms/x.py": 1},
                     "creation option": {f"{PACKAGE}/algorithms/x.py": 2}}


# -- one GeoTIFF writer ------------------------------------------------------------------------

GTIFF_WRITER = f"{PACKAGE}/core/io/raster.py"


def gtiff_writes(root):
    """{file: count} of calls in the shipped package that write a GeoTIFF themselves:
    GetDriverByName("GTiff"), or gdal.Translate / gdal.Warp to a file (not to "", in memory)."""
    counts = {}
    for folder, subfolders, files in os.walk(os.path.join(root, PACKAGE)):
        subfolders[:] = [name for name in subfolders if name != "__pycache__"]
        for name in (name for name in files if name.endswith(".py")):
            path = os.path.join(folder, name)
            relative = os.path.relpath(path, root).replace(os.sep, "/")
            for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args):
                    continue
                first = node.args[0]
                driver = node.func.attr == "GetDriverByName" and isinstance(first, ast.Constant) and first.value == "GTiff"
                to_file = node.func.attr in ("Translate", "Warp") and not (isinstance(first, ast.Constant) and first.value == "")
                if driver or to_file:
                    counts[relative] = counts.get(relative, 0) + 1
    return counts


def test_geotiffs_are_written_by_the_one_writer():
    """Every GeoTIFF of the plugin goes through core/io/raster.py (RasterWriter, write_copy),
    which takes its creation options from a named profile and writes atomically."""
    assert {path: n for path, n in gtiff_writes(ROOT).items() if path != GTIFF_WRITER} == {}


def test_the_writer_check_finds_writers(tmp_path):
    package = tmp_path / PACKAGE / "core"
    package.mkdir(parents=True)
    (package / "x.py").write_text('from osgeo import gdal\ngdal.GetDriverByName("GTiff").Create("a.tif", 1, 1)\n'
                                  'gdal.Translate("b.tif", "a.tif")\ngdal.Translate("", "a.tif", format="VRT")\n'
                                  'gdal.GetDriverByName("MEM").Create("", 1, 1)\n')
    assert gtiff_writes(str(tmp_path)) == {f"{PACKAGE}/core/x.py": 2}

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

#!/usr/bin/env python3
"""Draw the import graph of the shipped package by layer (docs/module_graph.png, README "Architecture").

Nodes are the package's folders and top-level modules, placed on the layers of
tests/test_architecture.py (lowest at the bottom); an arrow A -> B means a module of A imports
one of B. The picture is made from the same edges the test checks, so it shows what the test
asserts: every arrow points down or sideways within a layer, and there is no cycle.

Usage: .venv/bin/python tools/module_graph.py [output.png, default docs/module_graph.png]
"""

import pathlib
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (after the backend is chosen)

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import test_architecture as architecture  # noqa: E402

PACKAGE = architecture.PACKAGE


def node_of(module):
    """The drawn node of a module: its folder below the package (core.io, runner, ...) or itself."""
    parts = module[len(PACKAGE) + 1:].split(".") if module != PACKAGE else ["__init__"]
    if parts[0] == "core" and len(parts) > 2 and f"core.{parts[1]}.{parts[2]}" in (
            "core.products.catalogue", "core.products.styles"):
        return "core.products\n(catalogue, styles)"
    if parts[0] == "core" and len(parts) > 1 and parts[1] not in ("errors", "progress"):
        return f"core.{parts[1]}"
    return parts[0] if parts[0] != "core" else "core (errors, progress)"


def graph():
    """(ranks {node: layer}, edges {(node, node)}) of the package."""
    ranks, edges = {}, set()
    for module in architecture._modules():
        ranks[node_of(module)] = min(ranks.get(node_of(module), 99), architecture.layer_of(module))
    for importer, imported in architecture.import_edges():
        a, b = node_of(importer), node_of(imported)
        if a != b:
            edges.add((a, b))
    return ranks, edges


def draw(path):
    ranks, edges = graph()
    rows = {}
    for node, rank in sorted(ranks.items(), key=lambda item: (item[1], item[0])):
        rows.setdefault(rank, []).append(node)
    position = {}
    for level, (rank, nodes) in enumerate(sorted(rows.items())):
        for index, node in enumerate(nodes):
            # A lone node alternates left and right, so long arrows down the stack stay apart.
            x = (0.3 if level % 2 else 0.7) if len(nodes) == 1 else (index + 1) / (len(nodes) + 1)
            position[node] = (x, level)
    figure, axes = plt.subplots(figsize=(10, 0.8 * len(rows) + 1))
    for a, b in sorted(edges):
        (xa, ya), (xb, yb) = position[a], position[b]
        axes.annotate("", xy=(xb, yb + 0.18), xytext=(xa, ya - 0.18),
                      arrowprops=dict(arrowstyle="->", color="#1f5fa8" if yb < ya else "#999999", lw=0.6, alpha=0.8,
                                      shrinkA=2, shrinkB=2, connectionstyle="arc3,rad=0.15"))
    for node, (x, y) in position.items():
        axes.text(x, y, node, ha="center", va="center", fontsize=8,
                  bbox=dict(boxstyle="round,pad=0.3", facecolor="#f3f3f3", edgecolor="#555555"))
    axes.set_xlim(0, 1)
    axes.set_ylim(-0.6, len(rows) - 0.4)
    axes.axis("off")
    axes.set_title(f"{PACKAGE}: imports by layer (lowest at the bottom; arrows only point down or "
                   "within a layer)", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(figure)
    return path


if __name__ == "__main__":
    target = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "docs" / "module_graph.png")
    target.parent.mkdir(parents=True, exist_ok=True)
    print(draw(target))

"""Outputs in the project (layers.py): single algorithms' layers named after their files and
styled, a run's products in the group "HRL A-B" in status, change, confidence order."""

import numpy as np

from rasters import write_raster

NODATA = 255


def test_single_algorithm_output_loads_with_its_file_name_and_style(provider, qgis_iface, tmp_path):
    """processing's runAndLoadResults goes through Processing's own result handling, which calls
    the post-processor the algorithm attached (without it: "Aggregated layer", unstyled)."""
    import processing
    from qgis.core import QgsProject

    ibu = np.zeros((20, 20), dtype=np.uint8)
    ibu[:10, :10] = 1
    source = write_raster(tmp_path / "IBU.tif", ibu, nodata=NODATA)
    output = tmp_path / "SBU_2021_100m.tif"
    processing.runAndLoadResults("imperviousness:aggregate", {
        "INPUT": source, "METHOD": "mean", "RESOLUTION": 100, "SCALE": 100, "STYLE": "sbu",
        "OUTPUT": str(output)})
    loaded = [layer for layer in QgsProject.instance().mapLayers().values() if layer.source() == str(output)]
    assert [layer.name() for layer in loaded] == ["SBU_2021_100m"]
    renderer = loaded[0].renderer()
    assert renderer.type() == "paletted"
    assert [c.label for c in renderer.classes()][:2] == ["0 %", "1 %"]
    QgsProject.instance().removeAllMapLayers()


def test_a_runs_products_load_into_one_group_in_workflow_order(qgis_app, tmp_path):
    from qgis.core import QgsProject

    from imperviousness_plugin import layers
    from imperviousness_plugin.core.products.styles import write_style_beside

    # A published folder with a few products (written out of order) and their styles.
    for name, kind in (("IMDCL_2021_010m", "confidence"), ("IMCC_1821_020m", "change_class"),
                       ("IMD_2021_010m", "imd"), ("IMDC_1821_020m", "change"), ("PP_2018_010m", None)):
        path = write_raster(tmp_path / f"{name}.tif", np.zeros((4, 4), dtype=np.uint8), nodata=NODATA)
        if kind:
            write_style_beside(path, kind)
    project = QgsProject.instance()
    project.layerTreeRoot().insertGroup(0, "HRL 2018-2021")  # an earlier run's group is replaced
    group = layers.load_run(str(tmp_path), 2018, 2021, project)
    assert [g.name() for g in project.layerTreeRoot().findGroups()].count("HRL 2018-2021") == 1
    assert project.layerTreeRoot().children()[0] is group
    assert [(node.name(), node.layer().renderer().type()) for node in group.findLayers()] == [
        ("IMD_2021_010m", "paletted"), ("IMDC_1821_020m", "singlebandpseudocolor"),
        ("IMCC_1821_020m", "paletted"), ("IMDCL_2021_010m", "singlebandpseudocolor"),
        ("PP_2018_010m", "singlebandgray")]
    project.clear()

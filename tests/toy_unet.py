"""A toy U-Net stand-in for tests: a small fully convolutional ONNX model with a real contract,
random PP-like bands and their GeoTIFF."""

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from osgeo import gdal, osr

from imperviousness_plugin.core.unet.contract import Feature, ModelContract, attach_contract

BANDS = ("A", "B", "C")
MEAN, STD = (0.2, -0.1, 0.5), (0.5, 2.0, 0.25)
GEOTRANSFORM = (4700000.0, 10.0, 0.0, 1460000.0, 0.0, -10.0)


def conv_model(path, seed, widths=(6, 6), target="IMD", tile=256, overlap=64):
    """A fully convolutional model: 3x3 convs with ReLU (receptive radius = number of convs),
    then a 3x3 conv to one channel and a sigmoid. Asymmetric random kernels."""
    rng = np.random.default_rng(seed)
    nodes, inits, source, channels = [], [], "features", len(BANDS)
    for index, width in enumerate(list(widths) + [1]):
        weight = rng.normal(0, 0.6, (width, channels, 3, 3)).astype(np.float32)
        bias = rng.normal(0, 0.1, width).astype(np.float32)
        inits += [numpy_helper.from_array(weight, f"w{index}"), numpy_helper.from_array(bias, f"b{index}")]
        nodes.append(helper.make_node("Conv", [source, f"w{index}", f"b{index}"], [f"c{index}"],
                                      kernel_shape=[3, 3], pads=[1, 1, 1, 1]))
        source, channels = f"c{index}", width
        if index < len(widths):
            nodes.append(helper.make_node("Relu", [source], [f"r{index}"]))
            source = f"r{index}"
    nodes.append(helper.make_node("Sigmoid", [source], ["density"]))
    graph = helper.make_graph(
        nodes, "conv", [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["n", 3, "h", "w"])],
        [helper.make_tensor_value_info("density", TensorProto.FLOAT, ["n", 1, "h", "w"])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    contract = ModelContract(target, tuple(Feature(b, "identity", (b,)) for b in BANDS), MEAN, STD,
                             tile_size=tile, overlap=overlap, alignment=8, training={"data": "test"})
    attach_contract(model, contract)
    onnx.save(model, str(path))
    return str(path)


def random_bands(height, width, seed=1, holes=True):
    rng = np.random.default_rng(seed)
    bands = {}
    for index, band in enumerate(BANDS):
        smooth = np.cumsum(np.cumsum(rng.normal(0, 0.05, (height, width)), axis=0), axis=1)
        values = MEAN[index] + STD[index] * (rng.normal(0, 1, (height, width)) + 0.01 * smooth)
        bands[band] = values.astype(np.float32)
    if holes:
        bands["B"][10:14, 20:30] = np.nan          # a cloud hole
        bands["A"][-3:, -5:] = np.nan              # nodata in the corner
    return bands


def write_pp(path, bands):
    height, width = next(iter(bands.values())).shape
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), width, height, len(bands), gdal.GDT_Float32,
                                                   ["TILED=YES"])
    dataset.SetGeoTransform(GEOTRANSFORM)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(3035)
    dataset.SetProjection(srs.ExportToWkt())
    for index, (name, values) in enumerate(bands.items(), start=1):
        band = dataset.GetRasterBand(index)
        band.SetDescription(name)
        band.SetNoDataValue(float("nan"))
        band.WriteArray(values)
    dataset = None
    return str(path)


# A small U-Net of the plugin's architecture, exported once by torch.onnx.export (the training
# code's `export_onnx`) and committed, so that tests without PyTorch run a real exported U-Net.
# Regenerate with `PYTHONPATH=. .venv/bin/python tests/toy_unet.py` (needs torch and onnx).
UNET_FILE = Path(__file__).with_name("data") / "toy_unet_3band.onnx"
UNET_WIDTHS, UNET_SEED = (8, 8, 16, 16), 7


def unet_contract(spec):
    return ModelContract("IMD", tuple(Feature(b, "identity", (b,)) for b in BANDS), MEAN, STD,
                         alignment=spec.alignment, architecture=spec.as_json(), training={"data": "test"})


def export_toy_unet(path=UNET_FILE):
    """He-normal random weights (larger than torch's default init, so that tile edges matter)."""
    from imperviousness_plugin.core.unet import training
    spec = training.UNetSpec(len(BANDS), UNET_WIDTHS)
    rng = np.random.default_rng(UNET_SEED)
    weights = {}
    for name, shape in training.weight_shapes(spec).items():
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        weights[name] = (rng.normal(0, np.sqrt(2.0 / fan_in), shape) if len(shape) > 1
                         else rng.normal(0, 0.05, shape)).astype(np.float32)
    module = training.build_module(spec, weights)
    path.parent.mkdir(exist_ok=True)
    return training.save_onnx(training.export_onnx(module, unet_contract(spec)), path)


if __name__ == "__main__":
    print(export_toy_unet())

"""The provider's Processing algorithms (SPEC section 3)."""

from .aggregate import AggregateAlgorithm
from .aligngrid import AlignGridAlgorithm
from .applycalibration import ApplyCalibrationAlgorithm
from .builtup import BuiltupAlgorithm
from .calibrate import CalibrateAlgorithm
from .changecontinuous import ChangeContinuousAlgorithm
from .changemask import ChangeMaskAlgorithm
from .classifychange import ClassifyChangeAlgorithm
from .confidence import ConfidenceAlgorithm
from .predict import PredictAlgorithm
from .preprocess import PreprocessAlgorithm
from .publish import PublishAlgorithm
from .rmsd import RmsdAlgorithm
from .runtiles import RunTilesAlgorithm
from .sealingmask import SealingMaskAlgorithm
from .stacsearch import StacSearchAlgorithm
from .trainmodel import TrainModelAlgorithm


def all_algorithms():
    """One instance of each algorithm, in workflow order (the README's table follows it)."""
    return [AlignGridAlgorithm(), PreprocessAlgorithm(), StacSearchAlgorithm(), RmsdAlgorithm(),
            ChangeMaskAlgorithm(),
            PredictAlgorithm(), TrainModelAlgorithm(),
            SealingMaskAlgorithm(), CalibrateAlgorithm(), ApplyCalibrationAlgorithm(),
            BuiltupAlgorithm(), ConfidenceAlgorithm(),
            AggregateAlgorithm(), ChangeContinuousAlgorithm(), ClassifyChangeAlgorithm(),
            PublishAlgorithm(), RunTilesAlgorithm()]

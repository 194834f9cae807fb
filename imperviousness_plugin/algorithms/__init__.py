"""The provider's Processing algorithms (SPEC section 3)."""

from .aggregate import AggregateAlgorithm
from .aligngrid import AlignGridAlgorithm
from .builtup import BuiltupAlgorithm
from .calibration import ApplyCalibrationAlgorithm, CalibrateAlgorithm, SealingMaskAlgorithm
from .change import ChangeContinuousAlgorithm, ClassifyChangeAlgorithm
from .changemask import ChangeMaskAlgorithm
from .confidence import ConfidenceAlgorithm
from .predict import PredictAlgorithm
from .preprocess import PreprocessAlgorithm
from .publish import PublishAlgorithm
from .rmsd import RmsdAlgorithm
from .runtiles import RunTilesAlgorithm
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

"""The provider's Processing algorithms (SPEC section 3)."""

from .aggregate import AggregateAlgorithm
from .builtup import BuiltupAlgorithm
from .calibration import ApplyCalibrationAlgorithm, CalibrateAlgorithm, SealingMaskAlgorithm
from .change import ChangeContinuousAlgorithm, ClassifyChangeAlgorithm
from .changemask import ChangeMaskAlgorithm
from .confidence import ConfidenceAlgorithm
from .predict import PredictAlgorithm
from .preprocess import PreprocessAlgorithm
from .publish import PublishAlgorithm
from .rmsd import RmsdAlgorithm
from .stacsearch import StacSearchAlgorithm
from .trainmodel import TrainModelAlgorithm


def all_algorithms():
    return [PreprocessAlgorithm(), RmsdAlgorithm(), ChangeMaskAlgorithm(),
            AggregateAlgorithm(), ChangeContinuousAlgorithm(), ClassifyChangeAlgorithm(),
            BuiltupAlgorithm(),
            SealingMaskAlgorithm(), CalibrateAlgorithm(), ApplyCalibrationAlgorithm(),
            PredictAlgorithm(), ConfidenceAlgorithm(), TrainModelAlgorithm(),
            PublishAlgorithm(), StacSearchAlgorithm()]

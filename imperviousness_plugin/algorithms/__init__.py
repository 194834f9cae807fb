"""The provider's Processing algorithms (SPEC section 3)."""

from .preprocess import PreprocessAlgorithm


def all_algorithms():
    return [PreprocessAlgorithm()]

"""Multinomial logistic regression with numba-compiled parallel kernels."""

from ._classifier import SoftmaxClassifier
from ._cv import SoftmaxClassifierCV
from ._scoring import CrossEntropyScorer, neg_cross_entropy_scorer

__version__ = "0.1.0"

__all__ = [
    "CrossEntropyScorer",
    "SoftmaxClassifier",
    "SoftmaxClassifierCV",
    "__version__",
    "neg_cross_entropy_scorer",
]

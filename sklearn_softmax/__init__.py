"""Multinomial logistic regression with numba-compiled parallel kernels."""

from ._classifier import SoftmaxClassifier
from ._cv import SoftmaxClassifierCV

__version__ = "0.1.0"

__all__ = ["SoftmaxClassifier", "SoftmaxClassifierCV", "__version__"]

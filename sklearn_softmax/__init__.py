"""Multinomial logistic regression with numba-compiled parallel kernels."""

from ._classifier import SoftmaxClassifier

__version__ = "0.1.0"

__all__ = ["SoftmaxClassifier", "__version__"]

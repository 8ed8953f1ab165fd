r"""The penalised multinomial cross-entropy and its gradient.

The objective, for coefficients :math:`W \in \mathbb{R}^{K \times d}` and
intercepts :math:`b \in \mathbb{R}^K`, is

.. math::

    f(W, b) = \frac{1}{S} \sum_{i=1}^{n} s_i\,
              \mathrm{CE}\big(t_i, \mathrm{softmax}(W x_i + b)\big)
              + \frac{1}{S} \Big( \lambda_1 \lVert W \rVert_1
              + \frac{\lambda_2}{2} \lVert W \rVert_F^2 \Big),
    \qquad S = \sum_i s_i,

where :math:`s_i` are the sample weights with class weights folded in,
:math:`\mathrm{CE}(t, p) = -\sum_k t_k \log p_k` and :math:`t_i` is the
target distribution of row *i*: the one-hot vector of its label, or a given
probability row, mixed with the uniform distribution by label smoothing
:math:`\varepsilon`: :math:`(1 - \varepsilon) t_i + \varepsilon / K`.
The intercept is not penalised and ``C = inf`` removes the penalty. The
strengths come from ``C`` and ``l1_ratio`` as in scikit-learn's
``LogisticRegression`` (:meth:`~sklearn_softmax._penalty.ElasticNet.for_estimator`
holds the mapping, including the binary case).

The gradient of the smooth part (data and quadratic term) is

.. math::

    \nabla_W f = \frac{1}{S} \Big( \sum_i s_i (p_i - t_i) x_i^\top + \lambda_2 W \Big),
    \qquad
    \nabla_b f = \frac{1}{S} \sum_i s_i (p_i - t_i).

The parameter vector ``theta`` packs ``[W | b]`` row by row: it is the C-order
ravel of an array of shape ``(K, d + fit_intercept)``.

:class:`SoftmaxObjective` is what every solver works on; the methods a solver
may call are listed in :class:`sklearn_softmax._solvers.Objective`.
"""

from __future__ import annotations

import numpy as np

from ._datafit import SoftmaxDataTerm
from ._penalty import ElasticNet

__all__ = ["SoftmaxObjective", "SubsampledHessian"]


class SoftmaxObjective:
    """Penalised, weighted multinomial cross-entropy (see the module docstring).

    Parameters
    ----------
    X : ndarray or scipy sparse matrix of shape (n_samples, n_features)
        Training data, float64 or float32; C-contiguous when dense. Sparse
        input is used in CSR form.
    targets : Targets
        Target distributions.
    sample_weight : ndarray of shape (n_samples,)
        Non-negative weights (class weights already folded in).
    C : float
        Inverse regularisation strength; ``np.inf`` for none.
    fit_intercept : bool
        Whether ``theta`` carries intercepts.
    label_smoothing : float, default=0.0
        Mixing weight of the uniform distribution in every target.
    l1_ratio : float in [0, 1], default=0.0
        Share of the L1 term in the penalty (0: L2, 1: L1).
    parallel : bool, default=True
        Whether to use the parallel kernels.

    Attributes
    ----------
    data : SoftmaxDataTerm
        The smooth data term (kernels, buffers, CSR layout).
    penalty : ElasticNet
        The penalty; replace it with :meth:`set_penalty`.
    """

    def __init__(
        self,
        X,
        targets,
        sample_weight,
        *,
        C,
        fit_intercept,
        label_smoothing=0.0,
        l1_ratio=0.0,
        parallel=True,
    ):
        data = SoftmaxDataTerm(
            X,
            targets,
            sample_weight,
            label_smoothing=label_smoothing,
            parallel=parallel,
        )
        penalty = ElasticNet.for_estimator(C, l1_ratio, targets.n_classes)
        self._assemble(data, penalty, fit_intercept)

    @classmethod
    def from_parts(cls, data, penalty, fit_intercept):
        """Assemble the objective of a data term (any provider of its interface)."""
        obj = cls.__new__(cls)
        obj._assemble(data, penalty, fit_intercept)
        return obj

    def _assemble(self, data, penalty, fit_intercept):
        self.data = data
        self.penalty = penalty
        self.fit_intercept = bool(fit_intercept)
        self.n_samples = data.n_samples
        self.n_features = data.n_features
        self.n_classes = data.n_classes
        self.sw_sum = data.sw_sum
        self.dtype = data.dtype
        self.parallel = data.parallel
        # The data term's sums at the last point evaluated (see _data_sums).
        self._last = None

    def set_penalty(self, penalty):
        """Use another penalty (for example another ``C`` along a path).

        The data term, its buffers and its CSR layout are kept.
        """
        self.penalty = penalty

    @property
    def shape(self):
        """Shape ``(K, d + fit_intercept)`` of the unraveled parameters."""
        return (self.n_classes, self.n_features + int(self.fit_intercept))

    @property
    def n_params(self):
        """Length of ``theta``."""
        return self.shape[0] * self.shape[1]

    @property
    def is_smooth(self):
        """Whether the objective has no L1 part (plain L-BFGS applies)."""
        return self.penalty.is_smooth

    def pack(self, coef, intercept=None):
        """Ravel coefficients (and intercepts) into ``theta`` (float64)."""
        theta = np.zeros(self.shape)
        theta[:, : self.n_features] = coef
        if self.fit_intercept and intercept is not None:
            theta[:, -1] = intercept
        return theta.ravel()

    def unpack(self, theta):
        """Split ``theta`` into coefficients ``(K, d)`` and intercepts ``(K,)``."""
        Theta = np.asarray(theta).reshape(self.shape)
        coef = Theta[:, : self.n_features]
        if self.fit_intercept:
            intercept = Theta[:, -1]
        else:
            intercept = np.zeros(self.n_classes, dtype=Theta.dtype)
        return coef, intercept

    def _coef(self, v):
        """Return the coefficient block of a packed vector, as a view."""
        return np.asarray(v).reshape(self.shape)[:, : self.n_features]

    def loss_gradient(self, theta):
        """Smooth part (data and quadratic term) and its gradient at ``theta``.

        Parameters
        ----------
        theta : ndarray of shape (n_params,)

        Returns
        -------
        loss : float
        grad : ndarray of float64, shape (n_params,)
        """
        coef, intercept = self.unpack(theta)
        loss, G, _ = self._data_sums(theta, coef, intercept, products=False)
        return self._finish(coef, loss, G)

    def _data_sums(self, theta, coef, intercept, products):
        """Return the data term's loss and gradient sums at ``theta`` (and products).

        The sums of the last point evaluated are kept: they do not depend on
        the penalty, so a solve warm-started at the previous solve's last
        point (a regularisation path, after :meth:`set_penalty`) starts
        without a pass over ``X``, with the bits a pass would give.
        """
        key = np.asarray(theta, dtype=np.float64).tobytes()
        last = self._last
        if (
            last is not None
            and last[0] == key
            and (last[3] is not None or not products)
        ):
            return last[1], last[2].copy(), last[3]
        if products:
            loss, G, hessp = self.data.loss_gradient_hessp(coef, intercept)
        else:
            (loss, G), hessp = self.data.loss_gradient(coef, intercept), None
        self._last = (key, loss, G.copy(), hessp)
        return loss, G, hessp

    def _finish(self, coef, loss, G):
        """Add the smooth penalty to the data term's sums and divide by ``S``.

        The one place of the normalisation for every data term (in memory
        or on dask blocks: all return unnormalised weighted sums).
        """
        d = self.n_features
        # G is a fresh (K, d + 1) array: with an intercept it is the gradient.
        grad = G if self.fit_intercept else G[:, :d].copy()
        loss += self.penalty.smooth_value(coef)
        self.penalty.add_smooth_gradient(coef, grad[:, :d])
        S = self.sw_sum
        grad /= S
        return loss / S, grad.ravel()

    def gradient_hessian_product(self, theta):
        """Smooth part, its gradient and its Hessian as an operator, at ``theta``.

        One pass over ``X``, which also keeps the probabilities; every product
        is one more pass (:class:`~sklearn_softmax._datafit.DataHessian`).

        Parameters
        ----------
        theta : ndarray of shape (n_params,)

        Returns
        -------
        loss : float
        grad : ndarray of float64, shape (n_params,)
        hessp : callable
            ``hessp(v)`` returns ``H v`` (float64, shape ``(n_params,)``) for
            the Hessian ``H`` of the smooth part at ``theta``;
            ``hessp.diagonal()`` returns the diagonal of ``H`` and
            ``hessp.preconditioner()`` a positive diagonal for CG (the
            diagonal, averaged over classes).

        Raises
        ------
        ValueError
            If the objective has an L1 part (not twice differentiable).
        """
        if not self.is_smooth:
            raise ValueError(
                "Hessian-vector products need a smooth objective; this one has "
                f"an L1 part (l1_ratio={self.penalty.l1_ratio})."
            )
        coef, intercept = self.unpack(theta)
        loss, G, data_hessp = self._data_sums(theta, coef, intercept, products=True)
        return (*self._finish(coef, loss, G), _HessianProduct(self, data_hessp))

    def subsampled_hessian(self, fraction):
        r"""Return the Hessian of the smooth part estimated on a subset of rows.

        The rows are evenly spaced, ``(2 j + 1) n // (2 m)`` for ``j < m``
        with ``m = max(1, round(fraction * n))``: deterministic, independent
        of the thread count, and stratified when the rows are sorted (by
        label, by time). They are copied once into a data term of their own,
        whose data Hessian is scaled to the whole weight,

        .. math::

            \hat H = \frac{1}{S} \Big( \frac{S}{S_{\text{sub}}}
                     \sum_{i \in \text{sub}} s_i H_i + \lambda_2 I_W \Big),

        an unbiased estimate of the Hessian for a random subset (Byrd, Chin,
        Neveitt and Nocedal, SIAM J. Optim. 21, 2011).

        Parameters
        ----------
        fraction : float in (0, 1]
            Share of the rows in the subset.

        Returns
        -------
        SubsampledHessian or None
            ``at(theta)`` gives the operator ``v -> \hat H v`` at ``theta``
            (one pass over the subset); ``cost`` is the subset's share of
            the rows, what one of its passes costs in passes over ``X``.
            ``None`` when the data term cannot be subset (it has no
            ``subset`` method, as a distributed one): the solver then uses
            the Hessian of all rows.

        Raises
        ------
        ValueError
            If the objective has an L1 part.
        """
        if not self.is_smooth:
            raise ValueError(
                "Hessian-vector products need a smooth objective; this one has "
                f"an L1 part (l1_ratio={self.penalty.l1_ratio})."
            )
        if not hasattr(self.data, "subset"):
            return None
        n = self.n_samples
        m = int(min(n, max(1, round(float(fraction) * n))))
        rows = ((2 * np.arange(m, dtype=np.int64) + 1) * n) // (2 * m)
        data = self.data.subset(rows)
        if not data.sw_sum > 0.0:
            # Only zero weights in the subset: no curvature to scale up.
            data = self.data.subset(np.arange(n))
        return SubsampledHessian(self, data)

    def loss(self, theta):
        """Return the whole objective at ``theta``, L1 part included."""
        return self.loss_gradient(theta)[0] + self.nonsmooth_value(theta)

    def nonsmooth_value(self, theta):
        """Return the L1 part of the objective at ``theta`` (0 without one)."""
        return self.penalty.l1_value(self._coef(theta)) / self.sw_sum

    def l1_weights(self):
        """Weight of ``|theta_j|`` in the objective, for every parameter.

        ``penalty.l1 / S`` for coefficients, 0 for intercepts: the L1 part of
        the objective is ``l1_weights() @ abs(theta)``.
        """
        lam = np.zeros(self.n_params)
        self._coef(lam)[...] = self.penalty.l1 / self.sw_sum
        return lam

    def pseudo_gradient(self, theta, grad):
        """Minimum-norm subgradient of the objective, given the smooth gradient.

        Equal to ``grad`` for intercepts and for a smooth objective; it is
        zero exactly at a minimiser.
        """
        pg = np.array(grad, dtype=np.float64, copy=True)
        if not self.is_smooth:
            W, G = self._coef(theta), self._coef(grad)
            self._coef(pg)[...] = self.penalty.pseudo_gradient(W, G, 1.0 / self.sw_sum)
        return pg

    def optimality(self, theta, grad):
        """Largest absolute entry of :meth:`pseudo_gradient` (0 at the optimum)."""
        return float(np.max(np.abs(self.pseudo_gradient(theta, grad)), initial=0.0))

    def orthant(self, theta, pg):
        """Signs OWL-QN keeps in a step from ``theta`` (intercepts: 0, free)."""
        xi = np.zeros(self.n_params)
        self._coef(xi)[...] = self.penalty.orthant(self._coef(theta), self._coef(pg))
        return xi

    def project_orthant(self, theta, xi):
        """Zero, in place, the coefficients of ``theta`` whose sign left ``xi``."""
        W, X = self._coef(theta), self._coef(xi)
        W[np.sign(W) != X] = 0.0
        return theta

    def prox(self, theta, step):
        """Proximal step of the L1 part for step size ``step``, in place."""
        if not self.is_smooth:
            W = self._coef(theta)
            W[...] = self.penalty.prox(W, step / self.sw_sum)
        return theta

    def sgd_pass(self, P, optimizer, order, *, batch_size, weight_mean, weight_total):
        """Make one minibatch pass over the rows ``order`` (see the data term).

        The penalty enters each minibatch as its share of the objective's
        penalty, ``penalty / weight_total``.

        Returns
        -------
        total : float
            Sum of the minibatch estimates of the objective.
        n_updates : int
            Number of updates made.
        l1_total : float
            The cumulative L1 penalty after the pass.
        """
        return self.data.sgd_epoch(
            P,
            optimizer,
            order,
            batch_size=batch_size,
            weight_mean=weight_mean,
            l2=self.penalty.l2 / weight_total,
            l1=self.penalty.l1 / weight_total,
            fit_intercept=self.fit_intercept,
        )


class SubsampledHessian:
    """Subsampled Hessian of an objective (:meth:`SoftmaxObjective.subsampled_hessian`).

    Parameters
    ----------
    objective : SoftmaxObjective
        The objective (penalty, total weight ``S``, packing).
    data : SoftmaxDataTerm
        The data term of the subset.

    Attributes
    ----------
    n_rows : int
        Rows in the subset.
    cost : float
        ``n_rows / n_samples``: one pass over the subset in passes over ``X``.
    """

    def __init__(self, objective, data):
        self._objective = objective
        self._data = data
        self.n_rows = data.n_samples
        self.cost = data.n_samples / objective.n_samples
        # Scales the subset's curvature to the whole weight; exactly 1 for
        # the whole data (the same weights summed in the same chunks).
        self._scale = objective.sw_sum / data.sw_sum

    def at(self, theta):
        """Return the operator ``v -> H_sub v`` at ``theta`` (a pass over the subset).

        Returns
        -------
        hessp : callable
            As the ``hessp`` of
            :meth:`SoftmaxObjective.gradient_hessian_product`
            (``diagonal()``, ``preconditioner()``), every product one pass
            over the subset.
        """
        coef, intercept = self._objective.unpack(theta)
        # The subset's loss and gradient come with its probabilities, unused.
        _, _, data_hessp = self._data.loss_gradient_hessp(coef, intercept)
        return _HessianProduct(self._objective, data_hessp, self._scale)


class _HessianProduct:
    """``v -> H v`` of the smooth objective at one point (penalty, ``1 / S``).

    ``scale`` multiplies the data term's part: ``S / S_sub`` for a subset.
    """

    def __init__(self, objective, data_hessp, scale=1.0):
        self._objective = objective
        self._data = data_hessp
        self._scale = float(scale)

    def __call__(self, v):
        obj = self._objective
        V = np.asarray(v, dtype=np.float64).reshape(obj.shape)
        coef = V[:, : obj.n_features]
        if obj.fit_intercept:
            vb = V[:, -1]
        else:
            vb = np.zeros(obj.n_classes)
        Hv = self._data(coef, vb)
        if self._scale != 1.0:
            Hv *= self._scale
        if not obj.fit_intercept:
            Hv = Hv[:, : obj.n_features].copy()
        Hv[:, : obj.n_features] += obj.penalty.l2 * coef
        Hv /= obj.sw_sum
        return Hv.ravel()

    def diagonal(self):
        obj = self._objective
        D = self._data.diagonal()
        if self._scale != 1.0:
            D *= self._scale
        if not obj.fit_intercept:
            D = D[:, : obj.n_features].copy()
        D[:, : obj.n_features] += obj.penalty.l2
        D /= obj.sw_sum
        return D.ravel()

    def preconditioner(self):
        # The diagonal, averaged over classes: a diagonal that is the same
        # for all classes keeps CG's steps orthogonal to the directions the
        # data term is flat along (the same shift of every class's
        # coefficients or intercepts), so the iterates keep the centring
        # lbfgs keeps. Along them only the penalty curves the objective,
        # weakly at large C: a step off them is undone only slowly.
        D = self.diagonal().reshape(self._objective.shape)
        D[:] = D.mean(axis=0)
        return D.ravel()

"""Step rules of the stochastic solver: learning-rate schedules, momentum, Adam.

An :class:`SGDOptimizer` holds the hyper-parameters *and* the state of the
update rule (update counter, current learning rate, velocity or Adam moments),
so that the state survives between ``partial_fit`` calls. Parameters and
gradients are float64 arrays of shape ``(K, d + 1)`` (last column: intercept).
The updates themselves run in the epoch kernels
(:mod:`sklearn_softmax._kernels._sgd`).

Update rules, with ``g`` the minibatch gradient and ``t`` the number of
updates done before this one:

* ``"constant"``: ``eta = eta0``;
* ``"invscaling"``: ``eta = eta0 / (t + 1) ** power_t``;
* ``"adaptive"``: ``eta`` stays ``eta0`` until the solver reports
  ``n_iter_no_change`` epochs without progress; then it is divided by 5
  (:meth:`SGDOptimizer.decay`);

  for these three, with momentum ``mu``: ``v <- mu v - eta g``, ``P <- P + v``;
* ``"adam"``: ``m <- b1 m + (1 - b1) g``, ``u <- b2 u + (1 - b2) g**2``,
  ``P <- P - eta0 sqrt(1 - b2**(t+1)) / (1 - b1**(t+1)) * m / (sqrt(u) + epsilon)``
  (Kingma and Ba, 2015; the form scikit-learn's MLP uses).

The L2 penalty is not in ``g`` except under Adam: the other rules follow the
data step with the penalty's exact proximal step (see
:mod:`sklearn_softmax._kernels._sgd`), stable for any penalty strength.

With ``average`` the optimizer also keeps the Polyak-Ruppert average of the
iterates (``average_params``), from update number ``average`` on
(``True``: from the first); the fitted model is the average. When
``"adaptive"`` divides the rate, the average begins anew (the solver moves
``average_start`` to the current update).
"""

from __future__ import annotations

import numpy as np

__all__ = ["SGDOptimizer", "SCHEDULES", "ADAPTIVE_FACTOR", "ADAPTIVE_MIN_RATE"]

#: Learning-rate schedules by name; the code is what the epoch kernel reads.
SCHEDULES = {"constant": 0, "invscaling": 1, "adaptive": 2, "adam": 3}

#: ``"adaptive"`` divides the learning rate by this factor on a plateau.
ADAPTIVE_FACTOR = 5.0

#: ``"adaptive"`` stops the fit once the learning rate falls below this.
ADAPTIVE_MIN_RATE = 1e-6


class SGDOptimizer:
    """Hyper-parameters and state of the minibatch update rule.

    Parameters
    ----------
    shape : tuple of int
        Shape ``(K, d + 1)`` of the parameter array.
    learning_rate : {"constant", "invscaling", "adaptive", "adam"}
        Schedule (see the module docstring).
    eta0 : float
        Initial learning rate.
    power_t : float
        Exponent of ``"invscaling"``.
    momentum : float
        Momentum of the non-Adam schedules; 0 disables it.
    beta_1, beta_2, epsilon : float
        Adam's moment decay rates and denominator offset.
    average : bool or int, default=False
        Average the iterates: ``True`` from the first update, an int ``n``
        from update number ``n`` on; ``False`` (or 0) does not.

    Attributes
    ----------
    t : int
        Number of updates done.
    eta : float
        Current base learning rate (changes only under ``"adaptive"``).
    buf1 : ndarray of float64, shape ``shape``
        Velocity, or Adam's first moment.
    buf2 : ndarray of float64, shape ``shape``
        Adam's second moment (unused otherwise).
    l1_total : float
        Cumulative L1 penalty a coefficient could have received so far.
    l1_applied : ndarray of float64, shape ``shape``
        Cumulative L1 penalty each coefficient did receive.
    average_params : ndarray of float64, shape ``shape``
        Mean of the iterates after update :attr:`average_start` (zeros
        before).
    average_start : int
        Updates not averaged (``int(average) - 1``, moved to the current
        update whenever ``"adaptive"`` divides the rate); -1 without
        averaging.
    """

    def __init__(
        self,
        shape,
        *,
        learning_rate,
        eta0,
        power_t=0.5,
        momentum=0.9,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        average=False,
    ):
        self.schedule = learning_rate
        self.code = SCHEDULES[learning_rate]
        self.eta0 = float(eta0)
        self.power_t = float(power_t)
        self.momentum = float(momentum)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)
        self.t = 0
        self.eta = float(eta0)
        self.buf1 = np.zeros(shape)
        self.buf2 = np.zeros(shape)
        self.l1_total = 0.0
        self.l1_applied = np.zeros(shape)
        self.average_start = int(average) - 1 if average else -1
        self.average_params = np.zeros(shape)

    def get_state(self):
        """Return the state of the update rule, without the hyper-parameters.

        Returns
        -------
        state : dict
            ``t`` and ``average_start`` (int), ``eta`` and ``l1_total``
            (float), copies of
            ``buf1``, ``buf2``, ``l1_applied`` and ``average_params``: plain
            types, which any persistence format stores (skops without
            trusting a type).
        """
        return {
            "t": int(self.t),
            "eta": float(self.eta),
            "average_start": int(self.average_start),
            "l1_total": float(self.l1_total),
            "buf1": np.array(self.buf1, dtype=np.float64),
            "buf2": np.array(self.buf2, dtype=np.float64),
            "l1_applied": np.array(self.l1_applied, dtype=np.float64),
            "average_params": np.array(self.average_params, dtype=np.float64),
        }

    def set_state(self, state):
        """Continue from a state of :meth:`get_state` (arrays are copied).

        A state without ``average_params`` (saved before averaging existed)
        continues with zeros there, and without ``average_start`` with the
        one of the hyper-parameters.
        """
        self.t = int(state["t"])
        self.average_start = int(state.get("average_start", self.average_start))
        self.eta = float(state["eta"])
        self.l1_total = float(state["l1_total"])
        for name in ("buf1", "buf2", "l1_applied", "average_params"):
            if name not in state:
                continue
            buf = np.array(state[name], dtype=np.float64)
            if buf.shape != self.buf1.shape:
                raise ValueError(
                    f"optimizer state {name} has shape {buf.shape}, expected "
                    f"{self.buf1.shape}."
                )
            setattr(self, name, buf)
        return self

    @property
    def hyper(self):
        """Float hyper-parameters in the order the epoch kernel takes them."""
        return (
            float(self.power_t),
            float(self.momentum),
            float(self.beta_1),
            float(self.beta_2),
            float(self.epsilon),
        )

    @property
    def averaging(self):
        """Whether the model is the average: averaging is on and has begun."""
        return self.average_start >= 0 and self.t > self.average_start

    def model_params(self, P):
        """Return the model's parameters: the average once begun, else ``P``."""
        return self.average_params if self.averaging else P

    def current_rate(self):
        """Learning rate the next update would use (Adam: with bias correction)."""
        t = self.t + 1
        if self.code == 1:
            return self.eta / t**self.power_t
        if self.code == 3:
            return self.eta * np.sqrt(1.0 - self.beta_2**t) / (1.0 - self.beta_1**t)
        return self.eta

    def decay(self):
        """Divide the learning rate (and the velocity) on a plateau (``"adaptive"``).

        Returns
        -------
        keep_going : bool
            False when the rate fell below :data:`ADAPTIVE_MIN_RATE`.
        """
        self.eta /= ADAPTIVE_FACTOR
        if self.code != SCHEDULES["adam"]:
            # The velocity is in units of the rate (``v = -rate g / (1 - mu)``
            # once settled); scaled with it, the L2 shrink, which assumes
            # that pace, stays at its fixed point instead of overshooting it
            # by the factor for the next ~1 / (1 - mu) updates.
            self.buf1 /= ADAPTIVE_FACTOR
        return self.eta >= ADAPTIVE_MIN_RATE

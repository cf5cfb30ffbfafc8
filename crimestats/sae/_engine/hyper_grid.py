"""Integration over the hyperparameters of the spatial (BYM2 / ICAR) models, in the manner of INLA.

The models of [`crimestats.sae.bym2`][crimestats.sae.bym2] and `crimestats.sae.glmm.laplace`
are solved exactly (or by a Laplace approximation) given
$\\psi = (\\log\\sigma, \\operatorname{logit}\\phi)$ ($\\log\\sigma$ alone for ICAR). Their
posterior over $\\psi$ is integrated numerically (Rue, Martino & Chopin 2009):

1. the posterior mode $\\psi^*$ by a safeguarded Newton method with central-difference
   derivatives, and the Hessian $H$ there;
2. standardised coordinates $z$ with $\\psi = \\psi^* + E z$, $E = V\\Lambda^{-1/2}$ from the
   eigen-decomposition of $-H$;
3. a regular grid in $z$ (spacing ``STEP``; ``COARSE_STEP`` for BYM2 on large maps, see
   `grid_step`) explored outwards from the mode: along each line
   of the first coordinate, the second is explored both ways from the best point of the
   previous line until the log density has dropped by more than ``LOG_DROP`` below the mode;
   lines are added until one has no node above that level. Nodes within ``LOG_DROP`` of the
   highest density found are kept, weighted by their density.

The trapezoidal rule on a smooth, nearly Gaussian density in $z$ converges faster than any
power of the step (its error for a Gaussian is about $e^{-2\\pi^2/h^2}$ at step $h$), so the
error is set by the truncation, about $e^{-\\text{drop}}$ of the mass.

**Two cores.** The walk is split between two *walkers*: the two directions of the central
line, then the lines on either side of it. The finite differences of the mode search are
shared the same way. Each walker works on its own copy of the conditional model's state (the
warm start of the Laplace approximation's Newton iterations), and the cut-off is the density
at the mode, not the best density found so far. The nodes, their values and their order
therefore do not depend on whether the walkers run one after the other or at once: the
same numbers with one thread or two. The heavy work (sparse factorisations and selected
inversion) runs in compiled code that releases the GIL, so the walkers run in parallel
threads.

References
----------
Rue, H., Martino, S. and Chopin, N. (2009). Approximate Bayesian inference for latent Gaussian
models by using integrated nested Laplace approximations. *JRSS B* 71, 319–392.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from scipy import special

from ...errors import EstimationError

if TYPE_CHECKING:
    from ..priors import VariancePrior

__all__ = ["COARSE_FROM", "COARSE_STEP", "HyperPosterior", "Integration", "LOG_DROP", "STEP",
           "grid_step", "hyper_summary", "integrate", "start_values"]

#: By dimension of psi (1: ICAR, 2: BYM2): grid nodes are kept while the log posterior density
#: is within LOG_DROP of its maximum, and are STEP apart in standardised coordinates
#: (posterior SDs of psi). The truncation error is about e^-drop; the trapezoidal rule on a
#: smooth density is far more accurate than that at these steps.
LOG_DROP = {1: 16.0, 2: 11.0}
STEP = {1: 0.5, 2: 0.75}
#: The BYM2 grid (2-D) on large maps: step COARSE_STEP from COARSE_FROM areas with data. The
#: posterior of psi is then close to Gaussian (thousands of areas inform it), on which the
#: trapezoidal rule's error is about exp(-2 pi^2 / h^2), 3e-9 at h = 1. Measured against a
#: grid of step 0.4 on the 3,600-area maps of ``benchmarks/spatial_scale.py`` (rook grid and
#: Delaunay), for the Gaussian and the Poisson BYM2: area means, SDs and interval ends within
#: 2.4e-6 posterior SDs at step 1 as at step 0.75, sigma and phi summaries within 0.022 SDs
#: at both, with 73-83 nodes instead of 126-149. On 30 areas step 1 erred by 3e-3 SDs (step
#: 0.75: 5e-5), so small maps, which are cheap, keep ``STEP``.
COARSE_STEP, COARSE_FROM = 1.0, 1_000
#: Largest grid index (in steps from the mode, per coordinate) before the fit gives up.
_MAX_GRID_INDEX = 200
#: Largest finite-difference step (in psi) for the gradient and Hessian.
_HESSIAN_STEP = 0.02
#: Newton iterations of the mode search, and the longest step (in psi).
_MAX_NEWTON, _MAX_STEP = 50, 1.0
#: The mode search stops when the predicted gain of the next Newton step is below this (log
#: density units): the mode is then within sqrt(2 x 1e-4) = 0.014 posterior SDs, which moves
#: the grid, not the accuracy of the trapezoidal rule on it.
_MODE_GAIN = 1e-4
#: Threads that run the two walkers (at most 2: the walk has two independent halves).
_WORKERS = 2


class Conditional(Protocol):
    """What the grid needs from a model given (sigma, phi)."""

    def system(self, sigma: float, phi: float) -> Any: ...
    def log_likelihood(self, sys: Any) -> float: ...
    def moments(self, sys: Any) -> tuple[np.ndarray, ...]: ...
    def fork(self) -> Conditional: ...


class HyperPosterior:
    """Log posterior density of psi, and the map from psi to (sigma, phi).

    ``cond`` is the model given (sigma, phi); ``fork`` gives a copy with its own state for
    another walker (the evaluations of every copy are counted in ``evaluations``).
    """

    def __init__(self, cond: Conditional, model: str, prior: VariancePrior,
                 phi_prior: tuple[float, float]) -> None:
        self.cond, self.prior, self.phi_prior = cond, prior, phi_prior
        self.dim = 2 if model == "bym2" else 1
        self._model = model
        self._own = 0
        self._forks: list[HyperPosterior] = []

    @property
    def evaluations(self) -> int:
        """Evaluations of the log posterior by this object and its forks."""
        return self._own + sum(f.evaluations for f in self._forks)

    def fork(self) -> HyperPosterior:
        """A copy for another walker: same model and priors, its own conditional state."""
        twin = HyperPosterior(self.cond.fork(), self._model, self.prior, self.phi_prior)
        self._forks.append(twin)
        return twin

    def sigma_phi(self, psi: np.ndarray) -> tuple[float, float]:
        sigma = math.exp(psi[0])
        phi = float(special.expit(psi[1])) if self.dim == 2 else 1.0
        return sigma, phi

    def log_prior(self, psi: np.ndarray) -> float:
        """Log prior density of psi (Jacobians of sigma = e^psi0 and phi = expit(psi1))."""
        sigma = math.exp(psi[0])
        value = float(self.prior.log_density(np.array([sigma]))[0]) + psi[0]
        if self.dim == 2:
            a, b = self.phi_prior
            value += -a * np.logaddexp(0.0, -psi[1]) - b * np.logaddexp(0.0, psi[1])
        return value

    def system(self, psi: np.ndarray) -> tuple[float, Any]:
        """Log posterior of psi (up to a constant) and the model's system at psi (or None)."""
        self._own += 1
        prior = self.log_prior(psi)
        if not np.isfinite(prior):
            return -math.inf, None
        try:
            sys = self.cond.system(*self.sigma_phi(psi))
        except np.linalg.LinAlgError:
            return -math.inf, None
        value = prior + self.cond.log_likelihood(sys)
        return (value, sys) if np.isfinite(value) else (-math.inf, None)

    def __call__(self, psi: np.ndarray) -> float:
        return self.system(np.asarray(psi, dtype=float))[0]


def grid_step(dim: int, n_data: int) -> float:
    """Spacing of the grid in standardised coordinates for a model with ``dim``
    hyperparameters fitted to ``n_data`` areas with data: ``STEP[dim]``, or ``COARSE_STEP``
    for BYM2 on large maps (see ``COARSE_FROM``).

    Examples
    --------
    >>> grid_step(2, 300), grid_step(2, 35_000), grid_step(1, 35_000)
    (0.75, 1.0, 0.5)
    """
    return COARSE_STEP if dim == 2 and n_data >= COARSE_FROM else STEP[dim]


def start_values(y: np.ndarray, D: np.ndarray, X: np.ndarray, dim: int) -> np.ndarray:
    """Starting psi: sigma from a moment estimate of the area-effect variance, phi = 1/2."""
    inside = ~np.isnan(y)
    resid = y[inside] - X[inside] @ np.linalg.lstsq(X[inside], y[inside], rcond=None)[0]
    spread = max(float(np.mean(resid**2) - np.mean(D[inside])), 0.1 * float(np.mean(D[inside])))
    return np.array([0.5 * math.log(spread)] + [0.0] * (dim - 1))


class _Pair:
    """Runs two tasks, in two threads when a pool is given, else one after the other."""

    def __init__(self, pool: ThreadPoolExecutor | None) -> None:
        self.pool = pool

    def run(self, first: Callable[[], Any], second: Callable[[], Any]) -> tuple[Any, Any]:
        if self.pool is None:
            return first(), second()
        later = self.pool.submit(second)
        return first(), later.result()


def _evaluate(hyper: HyperPosterior, points: list[np.ndarray], pair: _Pair) -> list[float]:
    """Log posterior at ``points``, alternately by two forks of ``hyper``."""
    forks = (hyper.fork(), hyper.fork())
    halves = pair.run(lambda: [forks[0](p) for p in points[0::2]],
                      lambda: [forks[1](p) for p in points[1::2]])
    out = [0.0] * len(points)
    out[0::2], out[1::2] = halves
    return out


def _derivatives(hyper: HyperPosterior, psi: np.ndarray, f0: float, h: np.ndarray,
                 pair: _Pair) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and Hessian of the log posterior at psi by central differences (steps h).

    The axis points psi +- h_i e_i give the gradient and the diagonal; each mixed derivative
    takes two more points, psi +- (h_i e_i + h_j e_j):
    f_ij = (f(++) + f(--) - f(+i) - f(-i) - f(+j) - f(-j) + 2 f0) / (2 h_i h_j), exact for
    quadratics like the four-point formula (2 + d + d^2 points in all instead of 2d^2 + 1).
    """
    d = psi.size
    unit = np.eye(d)
    points = [psi + sign * h[i] * unit[i] for i in range(d) for sign in (1.0, -1.0)]
    pairs = [(i, j) for i in range(d) for j in range(i)]
    for i, j in pairs:
        shift = h[i] * unit[i] + h[j] * unit[j]
        points += [psi + shift, psi - shift]
    f = _evaluate(hyper, points, pair)
    plus, minus = np.array(f[0:2 * d:2]), np.array(f[1:2 * d:2])
    grad = (plus - minus) / (2.0 * h)
    hess = np.diag((plus - 2.0 * f0 + minus) / h**2)
    for k, (i, j) in enumerate(pairs):
        both = f[2 * d + 2 * k] + f[2 * d + 2 * k + 1]
        hess[i, j] = hess[j, i] = (both - plus[i] - minus[i] - plus[j] - minus[j]
                                   + 2.0 * f0) / (2.0 * h[i] * h[j])
    return grad, hess


def _mode(hyper: HyperPosterior, start: np.ndarray, pair: _Pair
          ) -> tuple[np.ndarray, float, np.ndarray]:
    """Posterior mode of psi and the Hessian there (safeguarded Newton, finite differences).

    Newton steps on a positive-definite version of the negative Hessian, at most
    ``_MAX_STEP`` long, halved until the density increases. The finite-difference steps
    follow the current curvature (a tenth of a posterior SD). Stops when the predicted gain
    is below ``_MODE_GAIN``.
    """
    psi = np.asarray(start, dtype=float)
    f0 = hyper(psi)
    if not np.isfinite(f0):
        raise EstimationError("The posterior of the hyperparameters is zero at the starting "
                              "value; check the direct estimates and variances.")
    h = np.full(psi.size, _HESSIAN_STEP)
    for _ in range(_MAX_NEWTON):
        grad, hess = _derivatives(hyper, psi, f0, h, pair)
        if not (np.all(np.isfinite(grad)) and np.all(np.isfinite(hess))):
            h = h / 4.0
            continue
        values, vectors = np.linalg.eigh(-hess)
        floor = max(1e-6, 1e-6 * float(np.abs(values).max()))
        values = np.maximum(values, floor)
        step = vectors @ ((vectors.T @ grad) / values)
        gain = 0.5 * float(grad @ step)
        length = float(np.linalg.norm(step))
        if length > _MAX_STEP:
            step *= _MAX_STEP / length
        curvature = np.clip(-np.diag(hess), 1e-12, None)
        h = np.clip(0.1 / np.sqrt(curvature), 1e-4, _HESSIAN_STEP)
        if gain < _MODE_GAIN:
            return psi, f0, hess
        t = 1.0
        for _ in range(30):
            trial = psi + t * step
            f_trial = hyper(trial)
            if np.isfinite(f_trial) and f_trial > f0:
                psi, f0 = trial, f_trial
                break
            t *= 0.5
        else:
            return psi, f0, hess
    grad, hess = _derivatives(hyper, psi, f0, h, pair)
    return psi, f0, hess


def _standardisation(hess: np.ndarray) -> np.ndarray:
    """Matrix E with psi = mode + E z: inverse square root of the negative Hessian."""
    values, vectors = np.linalg.eigh(-hess)
    # A flat or non-concave direction gets a generous spread (the grid walk finds the edge).
    values = np.maximum(values, 1.0 / 9.0)
    return vectors / np.sqrt(values)


#: A visited grid node: psi, log density, and the model's moments there (None below the cut).
_Node = tuple[np.ndarray, float, tuple[np.ndarray, ...] | None]


def _grid(hyper: HyperPosterior, mode: np.ndarray, f_mode: float, E: np.ndarray,
          step: float, pair: _Pair) -> list[tuple[np.ndarray, float, tuple[np.ndarray, ...]]]:
    """Nodes of the regular grid in z (spacing ``step``) with log density above the cut-off.

    Walks outwards from the mode (see the module notes), the two halves of the walk by two
    forks of ``hyper``.
    """
    drop = LOG_DROP[hyper.dim]
    cut = f_mode - drop

    def visit(walker: HyperPosterior, z: np.ndarray) -> _Node:
        if np.abs(z).max() > _MAX_GRID_INDEX:
            raise EstimationError(
                "The posterior of the hyperparameters does not fall off within "
                f"{_MAX_GRID_INDEX} grid steps of its mode; it is too flat to integrate. Use a "
                "proper prior on sigma, e.g. prior=HalfNormal(scale=...).")
        psi = mode + E @ (step * z)
        value, sys = walker.system(psi)
        moments = walker.cond.moments(sys) if value >= cut and sys is not None else None
        return psi, value, moments

    def walk(walker: HyperPosterior, fixed: list[int], start: int, direction: int
             ) -> tuple[list[_Node], int, float]:
        """One direction of a line of the last coordinate: (nodes, best index, its value)."""
        nodes: list[_Node] = []
        best, best_value = start, -math.inf
        j = start if direction == 1 else start - 1
        while True:
            node = visit(walker, np.array([*fixed, j], dtype=float))
            nodes.append(node)
            if node[1] > best_value:
                best, best_value = j, node[1]
            if node[1] < cut:
                return nodes, best, best_value
            j += direction

    def line(walker: HyperPosterior, fixed: list[int], start: int
             ) -> tuple[list[_Node], int, bool]:
        """A whole line, both directions: (nodes, best index, any node above the cut)."""
        up, best_up, value_up = walk(walker, fixed, start, 1)
        down, best_down, value_down = walk(walker, fixed, start, -1)
        found = any(node[1] >= cut for node in up + down)
        return up + down, best_up if value_up >= value_down else best_down, found

    def side(walker: HyperPosterior, direction: int, centre: int) -> list[_Node]:
        """The lines i = direction, 2 direction, ... until one has no node above the cut."""
        nodes: list[_Node] = []
        i, start, found = direction, centre, True
        while found:
            more, start, found = line(walker, [i], start)
            nodes += more
            i += direction
        return nodes

    walkers = (hyper.fork(), hyper.fork())
    fixed = [] if hyper.dim == 1 else [0]
    (up, best_up, value_up), (down, best_down, value_down) = pair.run(
        lambda: walk(walkers[0], fixed, 0, 1), lambda: walk(walkers[1], fixed, 0, -1))
    visited = up + down
    if hyper.dim == 2:
        centre = best_up if value_up >= value_down else best_down
        walkers = (hyper.fork(), hyper.fork())
        right, left = pair.run(lambda: side(walkers[0], 1, centre),
                               lambda: side(walkers[1], -1, centre))
        visited += right + left
    top = max(f_mode, max(node[1] for node in visited))
    return [(psi, value, moments) for psi, value, moments in visited
            if moments is not None and value >= top - drop]


@dataclasses.dataclass
class Integration:
    """The grid over the hyperparameters: mode, standardisation, nodes and their weights,
    and the conditional moments each node's evaluation returned."""

    mode: np.ndarray
    E: np.ndarray
    step: float
    psi: np.ndarray
    log_w: np.ndarray
    weights: np.ndarray
    moments: list[Any]


def integrate(hyper: HyperPosterior, start: np.ndarray, step: float | None = None
              ) -> Integration:
    """Find the posterior mode of the hyperparameters from ``start`` and lay the grid, nodes
    ``step`` apart in standardised coordinates (default ``STEP[hyper.dim]``)."""
    step = STEP[hyper.dim] if step is None else float(step)
    workers = min(_WORKERS, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                  else os.cpu_count() or 1)
    # the calling thread runs one walker, the pool's thread the other
    pool = ThreadPoolExecutor(max_workers=1) if workers > 1 else contextlib.nullcontext()
    with pool as executor:
        pair = _Pair(executor)
        mode, f_mode, hess = _mode(hyper, start, pair)
        E = _standardisation(hess)
        nodes = _grid(hyper, mode, f_mode, E, step, pair)
    psi = np.array([node[0] for node in nodes])
    log_w = np.array([node[1] for node in nodes])
    weights = np.exp(log_w - log_w.max())
    return Integration(mode, E, step, psi, log_w, weights / weights.sum(),
                       [node[2] for node in nodes])


def _hyper_intervals(z: np.ndarray, log_post: np.ndarray, to_psi: Any, step: float,
                     tail: float) -> list[tuple[float, float]]:
    """Equal-tailed intervals of each coordinate of psi from the grid nodes.

    Each node stands for a cell of side ``step`` around it (in z). Within a cell the log
    density is spread by the shape of a least-squares polynomial (total degree 4, or 2 with
    few nodes) fitted to all nodes, anchored at the node's own value; the marginal CDF of
    each coordinate of psi is then read from the sub-cell points.
    """
    K, d = z.shape
    n_sub = 20 if d == 1 else 10
    for degree in (4, 2, 0):
        powers = np.array([q for q in np.ndindex(*(degree + 1,) * d) if sum(q) <= degree])
        if K >= 2 * len(powers):
            break

    def features(points: np.ndarray) -> np.ndarray:
        return np.prod(points[:, None, :] ** powers[None, :, :], axis=2)

    coef = np.linalg.lstsq(features(z), log_post, rcond=None)[0]
    offsets = step * ((np.arange(n_sub) + 0.5) / n_sub - 0.5)
    cell = np.stack(np.meshgrid(*(offsets,) * d, indexing="ij"), axis=-1).reshape(-1, d)
    points = (z[:, None, :] + cell[None]).reshape(-1, d)
    shape = (features(points) @ coef).reshape(K, -1) - (features(z) @ coef)[:, None]
    log_w = (log_post[:, None] + shape).ravel()
    w = np.exp(log_w - log_w.max())
    w /= w.sum()
    psi = to_psi(points)
    out = []
    for j in range(psi.shape[1]):
        order = np.argsort(psi[:, j])
        cdf = np.cumsum(w[order]) - 0.5 * w[order]
        lo, hi = np.interp([tail, 1.0 - tail], cdf, psi[order, j])
        out.append((float(lo), float(hi)))
    return out


def hyper_summary(grid: Integration, tail: float) -> dict[str, tuple[float, float, tuple]]:
    """Posterior mean, SD and equal-tailed interval of sigma and phi from the grid nodes.

    For the ICAR model (one hyperparameter) phi is reported as 1 with SD 0.
    """
    psi, log_w, weights, mode, E = grid.psi, grid.log_w, grid.weights, grid.mode, grid.E
    dim = psi.shape[1]
    z_nodes = np.linalg.solve(E, (psi - mode).T).T
    intervals = _hyper_intervals(z_nodes, log_w, lambda zz: mode + zz @ E.T, grid.step, tail)
    sigma_k = np.exp(psi[:, 0])
    sigma = float(weights @ sigma_k)
    out = {"sigma": (sigma, math.sqrt(float(weights @ (sigma_k - sigma) ** 2)),
                     tuple(math.exp(t) for t in intervals[0]))}
    if dim == 2:
        phi_k = special.expit(psi[:, 1])
        phi = float(weights @ phi_k)
        out["phi"] = (phi, math.sqrt(float(weights @ (phi_k - phi) ** 2)),
                      tuple(float(special.expit(t)) for t in intervals[1]))
    else:
        out["phi"] = (1.0, 0.0, (1.0, 1.0))
    return out

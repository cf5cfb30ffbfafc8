"""Log-linear heterogeneity models of Rcapture: $M_h$ and $M_{th}$ (engine, no front-end).

With $k_\\omega = \\sum_j \\omega_j$ the number of lists a capture history $\\omega$ is
on, the expected count of each observable history is

$$
\\begin{aligned}
M_h:&\\quad \\log \\mu_\\omega = \\theta_0 + \\beta k_\\omega + \\tau\\, h(k_\\omega), \\\\
M_{th}:&\\quad \\log \\mu_\\omega = \\theta_0 + \\sum_j \\beta_j \\omega_j + \\tau\\, h(k_\\omega),
\\end{aligned}
$$

fitted by Poisson maximum likelihood to the $2^t - 1$ observable cells; the number on no
list is $e^{\\theta_0}$. The heterogeneity column $h$ comes from a model of how
catchability varies between people (Rivest & Baillargeon 2007; Rivest 2008):

* Poisson: $h(k) = \\vartheta^k - 1$ (Rcapture's default $\\vartheta = 2$);
* Darroch: $h(k) = k^2 / 2$;
* Gamma: $h(k) = \\log\\vartheta - \\log(\\vartheta + k)$ (default $\\vartheta = 3.5$);
* Chao's lower bound: one column $\\max(k - j + 1, 0)$ per $j = 3, \\dots, t$, each with its
  own non-negative coefficient $\\eta_j$; a negative $\\hat\\eta_j$ is set to zero by dropping
  its column and refitting, first negative first, as Rcapture's ``closedp`` does.

The standard error of the total is Rcapture's
$\\sqrt{e^{\\hat\\theta_0} + e^{2\\hat\\theta_0} \\widehat{\\operatorname{var}}(\\hat\\theta_0)}$.
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__: list[str] = []

FORMS = ("chao", "poisson", "darroch", "gamma")
DEFAULT_THETA = {"poisson": 2.0, "gamma": 3.5}


@dataclasses.dataclass(frozen=True)
class GlmFit:
    """A Poisson log-linear fit to the observable cells."""

    beta: np.ndarray
    cov: np.ndarray
    fitted: np.ndarray
    deviance: float
    loglik: float  # full Poisson log-likelihood (with the log y! terms), as R's glm
    converged: bool
    columns: tuple[str, ...]  # names of the columns of the design, intercept first

    @property
    def dark(self) -> float:
        return float(np.exp(self.beta[0]))

    @property
    def intercept_se(self) -> float:
        return float(np.sqrt(self.cov[0, 0]))

    @property
    def n_params(self) -> int:
        return int(self.beta.size)

    @property
    def aic(self) -> float:
        return -2.0 * self.loglik + 2.0 * self.n_params


def heterogeneity_columns(k: np.ndarray, t: int, form: str, theta: float | None
                          ) -> tuple[np.ndarray, tuple[str, ...]]:
    """The heterogeneity column(s) $h(k)$ of ``form`` for capture counts ``k``."""
    k = np.asarray(k, dtype=float)
    if form == "chao":
        cols = [np.maximum(k - j + 1.0, 0.0) for j in range(3, t + 1)]
        return np.column_stack(cols), tuple(f"eta{j}" for j in range(3, t + 1))
    if form == "poisson":
        return (theta**k - 1.0)[:, None], ("tau",)
    if form == "darroch":
        return (k**2 / 2.0)[:, None], ("tau",)
    if form == "gamma":
        return (np.log(theta) - np.log(theta + k))[:, None], ("tau",)
    raise ValueError(f"unknown heterogeneity form {form!r}")


def poisson_glm(x: np.ndarray, y: np.ndarray, columns: tuple[str, ...], *,
                max_iter: int = 200, tol: float = 1e-8) -> GlmFit:
    """Poisson GLM (log link) by iteratively reweighted least squares, as R's ``glm.fit``.

    Starts from $\\mu = y + 0.1$, stops when the deviance changes by less than
    ``tol * (|deviance| + 0.1)`` and takes the covariance from the weights of the last
    iteration, which is what Rcapture (through ``glm``) reports; a step whose deviance is not
    finite is halved.
    """
    mu = y + 0.1
    eta = np.log(mu)
    dev_old = np.inf
    converged = False
    cov = np.full((x.shape[1], x.shape[1]), np.nan)
    beta = np.zeros(x.shape[1])
    for _ in range(max_iter):
        xtw = x.T * mu
        info = xtw @ x
        try:
            new_beta = np.linalg.solve(info, xtw @ (eta + (y - mu) / mu))
            cov = np.linalg.inv(info)
        except np.linalg.LinAlgError:
            break
        for _ in range(30):
            new_eta = x @ new_beta
            dev = _deviance(y, np.exp(np.minimum(new_eta, 700.0)))
            if np.isfinite(dev) and new_eta.max() < 700.0:
                break
            new_beta = (new_beta + beta) / 2.0
        beta, eta = new_beta, x @ new_beta
        mu = np.exp(eta)
        if abs(dev - dev_old) / (abs(dev) + 0.1) < tol:
            converged = True
            break
        dev_old = dev
    converged = converged and bool(np.all(np.isfinite(cov)))
    from scipy.special import gammaln

    loglik = float(np.sum(y * np.log(np.where(y > 0, mu, 1.0)) - mu - gammaln(y + 1.0)))
    return GlmFit(beta=beta, cov=cov, fitted=mu, deviance=float(dev), loglik=loglik,
                  converged=converged, columns=columns)


def _deviance(y: np.ndarray, mu: np.ndarray) -> float:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        term = np.where(y > 0, y * np.log(y / mu), 0.0)
        return float(2.0 * np.sum(term - (y - mu)))


def design(histories: np.ndarray, *, time_effects: bool, form: str | None,
           theta: float | None = None, pairs: tuple[tuple[int, int], ...] = ()
           ) -> tuple[np.ndarray, tuple[str, ...], int]:
    """Design matrix of $M_h$/$M_{th}$ (or $M_0$/$M_t$ when ``form`` is None).

    ``pairs`` adds two-list interaction columns. Returns the matrix, its column names and the
    number of leading columns that do not model heterogeneity.
    """
    h = np.asarray(histories, dtype=float)
    t = h.shape[1]
    k = h.sum(axis=1)
    cols = [np.ones(h.shape[0])]
    names = ["intercept"]
    if time_effects:
        cols += list(h.T)
        names += [f"beta{j + 1}" for j in range(t)]
    else:
        cols.append(k)
        names.append("beta")
    for i, j in pairs:
        cols.append(h[:, i] * h[:, j])
        names.append(f"lambda{i + 1}_{j + 1}")
    fixed = len(cols)
    if form is not None:
        extra, extra_names = heterogeneity_columns(k, t, form, theta)
        cols += list(extra.T)
        names += list(extra_names)
    return np.column_stack(cols), tuple(names), fixed


def fit(histories: np.ndarray, counts: np.ndarray, *, time_effects: bool, form: str | None,
        theta: float | None = None, pairs: tuple[tuple[int, int], ...] = ()
        ) -> tuple[GlmFit, tuple[str, ...]]:
    """Fit $M_{(t)h}$ with heterogeneity ``form``; return the fit and the $\\eta$ set to zero.

    For Chao's lower bound, while some $\\hat\\eta_j < 0$ the first column (in order
    $j = 3, 4, \\dots$) whose coefficient is not positive is dropped and the model refitted.
    """
    if form is not None and form not in FORMS:
        raise ValueError(f"unknown heterogeneity form {form!r}")
    if theta is None and form in DEFAULT_THETA:
        theta = DEFAULT_THETA[form]
    x, names, fixed = design(histories, time_effects=time_effects, form=form, theta=theta,
                             pairs=pairs)
    y = np.asarray(counts, dtype=float)
    result = poisson_glm(x, y, names)
    dropped: list[str] = []
    if form == "chao":
        while result.beta.size > fixed and np.any(result.beta[fixed:] < 0):
            first = fixed + int(np.flatnonzero(result.beta[fixed:] <= 0)[0])
            dropped.append(names[first])
            x = np.delete(x, first, axis=1)
            names = names[:first] + names[first + 1:]
            result = poisson_glm(x, y, names)
    return result, tuple(dropped)


def total_and_se(result: GlmFit, observed: float) -> tuple[float, float]:
    """Rcapture's total $n + e^{\\hat\\theta_0}$ and its standard error."""
    dark = result.dark
    return observed + dark, float(np.sqrt(dark + dark**2 * result.cov[0, 0]))


MAX_DARK_RATIO = 1e6  # a number missed beyond a million times the observed is a divergent fit


def determined(result: GlmFit, observed: float) -> bool:
    """Whether the fit gives a finite number missed: converged, finite standard error and a
    dark figure below ``MAX_DARK_RATIO`` times the observed (otherwise the likelihood keeps
    rising as the number missed grows, and the maximum likelihood estimate does not exist)."""
    return bool(result.converged and np.isfinite(result.cov[0, 0])
                and result.beta[0] < np.log(MAX_DARK_RATIO * observed))

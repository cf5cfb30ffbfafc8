"""Dirichlet-process latent-class capture-recapture (LCMCR; Manrique-Vallier 2016).

Model, for person $i$ with capture history $x_i \\in \\{0,1\\}^J$:

$$
z_i \\sim \\text{Categorical}(\\pi), \\quad
x_{ij} \\mid z_i = k \\sim \\text{Bernoulli}(\\lambda_{jk}), \\quad
\\lambda_{jk} \\sim \\text{Beta}(1, 1),
\\pi \\sim \\text{SB}_K(\\alpha) \\ (\\text{truncated stick-breaking}), \\quad
\\alpha \\sim \\text{Gamma}(a, b), \\quad p(N) \\propto 1/N .
$$

Lists are conditionally independent within a latent class, so heterogeneous capture
probabilities (the rule in victim data) are modelled by the mixture. The Gibbs sampler augments
the data with the $n_0$ unobserved people: given the parameters,
$n_0 \\sim \\text{NegBin}(n, 1 - \\pi_0)$ with $\\pi_0 = \\sum_k \\pi_k \\prod_j
(1 - \\lambda_{jk})$, the probability of being on no list. Everything works on counts per
capture history and class, vectorised over chains, so an iteration costs a few numpy calls.
The full conditionals are those of R's LCMCR; chains start from totals spread between about
1.2 n and 20 n (``_dispersed_start``) so that slow movement along the posterior of N shows up
in r-hat.
"""

from __future__ import annotations

import numpy as np

__all__: list[str] = []


def sample_lcmcr(histories: np.ndarray, counts: np.ndarray, *, n_classes: int = 10,
                 a_alpha: float = 0.25, b_alpha: float = 0.25, chains: int = 2,
                 burn: int = 2000, draws: int = 2000, thin: int = 5,
                 rng: np.random.Generator) -> np.ndarray:
    """Posterior draws of the total population, shape ``(chains, draws)``.

    ``histories`` (cells x lists, 0/1) and ``counts`` describe the observed cells; cells with
    zero count are ignored.
    """
    keep = counts > 0
    x = histories[keep].astype(float)  # cells x J
    n_c = counts[keep].astype(np.int64)
    n_obs = int(n_c.sum())
    n_cells, n_lists = x.shape
    k_cls = n_classes
    lam, pi = _dispersed_start(x, n_c, k_cls, chains, rng)
    alpha = np.ones(chains)
    out = np.empty((chains, draws))
    total_iter = burn + draws * thin
    kept = 0
    n_cs = np.broadcast_to(n_c, (chains, n_cells))
    x_off = 1.0 - x
    for it in range(total_iter):
        log_lam, log_1m = np.log(lam), np.log1p(-lam)
        # class allocation of the observed cases, per capture history
        logp = np.log(pi)[:, None, :] + x @ log_lam + x_off @ log_1m
        logp -= logp.max(axis=2, keepdims=True)
        prob = np.exp(logp)
        prob /= prob.sum(axis=2, keepdims=True)
        alloc = rng.multinomial(n_cs, prob)  # s, c, k
        # the unobserved cases: how many, and their classes
        miss_k = pi * np.exp(log_1m.sum(axis=1))  # s, k
        pi0 = np.clip(miss_k.sum(axis=1), 1e-300, 1.0 - 1e-12)
        n0 = rng.poisson(rng.gamma(n_obs, pi0 / (1.0 - pi0)))  # NegBin(n, 1 - pi0)
        miss = rng.multinomial(n0, miss_k / miss_k.sum(axis=1, keepdims=True))  # s, k
        # list-capture probabilities within classes
        on = x.T @ alloc
        class_obs = alloc.sum(axis=1)  # s, k
        off = class_obs[:, None, :] - on + miss[:, None, :]
        lam = np.clip(rng.beta(1.0 + on, 1.0 + off), 1e-12, 1.0 - 1e-12)
        # stick-breaking weights and concentration
        n_k = class_obs + miss
        tail = np.cumsum(n_k[:, ::-1], axis=1)[:, ::-1]  # sum_{l >= k}
        after = np.concatenate([tail[:, 1:], np.zeros((chains, 1))], axis=1)
        v = rng.beta(1.0 + n_k, alpha[:, None] + after)
        v[:, -1] = 1.0
        v[:, :-1] = np.clip(v[:, :-1], 1e-12, 1.0 - 1e-12)
        pi = _stick_breaking(v)
        alpha = rng.gamma(a_alpha + k_cls - 1,
                          1.0 / (b_alpha - np.log1p(-v[:, :-1]).sum(axis=1)))
        if it >= burn and (it - burn) % thin == 0:
            out[:, kept] = n_obs + n0
            kept += 1
    return out


def _dispersed_start(x: np.ndarray, n_c: np.ndarray, k_cls: int, chains: int,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Starting values that put the chains' first totals from about 1.2 n to 20 n.

    Every class starts at the lists' observed capture shares (jittered), except that chain
    ``c``'s first class is made hard to reach (capture probability 0.01 on every list) with the
    weight that makes the probability of being on no list ``1 - n / N_c``, ``N_c`` spread
    geometrically. On data with a well-identified total the chains meet during burn-in; where
    the posterior of the total is wide and the Gibbs sampler moves along it slowly (sparse
    tables), they stay apart and r-hat says so, instead of all chains agreeing by accident.
    """
    n_lists = x.shape[1]
    share = np.clip((x.T @ n_c) / n_c.sum(), 0.02, 0.98)
    lam = np.clip(share[None, :, None] * rng.uniform(0.7, 1.3, size=(chains, n_lists, k_cls)),
                  0.01, 0.99)
    pi = np.full((chains, k_cls), 1.0 / k_cls)
    if k_cls == 1:
        return lam, pi
    lam[:, :, 0] = 0.01
    start_ratio = np.geomspace(1.2, 20.0, chains) if chains > 1 else np.array([2.0])
    miss_easy = np.exp(np.log1p(-lam[:, :, 1:]).sum(axis=1)).mean(axis=1)  # per chain
    miss_hard = 0.99**n_lists
    target = 1.0 - 1.0 / start_ratio  # pi0 = w miss_hard + (1 - w) miss_easy
    w = np.clip((target - miss_easy) / (miss_hard - miss_easy), 0.01, 0.99)
    pi[:, 0] = w
    pi[:, 1:] = ((1.0 - w) / (k_cls - 1))[:, None]
    return lam, pi


def _stick_breaking(v: np.ndarray) -> np.ndarray:
    """Weights ``pi_k = v_k * prod_{l<k} (1 - v_l)`` with the last stick taking the rest."""
    v = v.copy()
    v[:, -1] = 1.0
    rest = np.cumprod(np.concatenate([np.ones((v.shape[0], 1)), 1.0 - v[:, :-1]], axis=1), axis=1)
    return np.clip(v * rest, 1e-300, None)

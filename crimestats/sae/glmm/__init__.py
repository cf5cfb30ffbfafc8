"""Area-level generalised linear mixed models: binomial and Poisson likelihoods, and MRP.

* `families` — the likelihoods (binomial/logit, Poisson/log), a registry;
* `prevalence` — `logit_binomial` and `poisson_lognormal`, the front-ends;
* `independent` — the exact fit with independent area effects (quadrature and grids);
* `laplace` — the fit with BYM2/ICAR area effects (Laplace approximation);
* `poststratification` — `mrp`;
* `inputs` — validation of their inputs.
"""

"""The Fay–Herriot family of area-level models.

* `eblup` — `fay_herriot`, the front-end: the EBLUP, hierarchical Bayes or SAR fit;
* `model` — the basic model fitted to one table (variance component, GLS, EBLUP);
* `variance` — variance-component methods (REML, ML, moment), a registry;
* `mse` — MSE estimators (analytic Prasad–Rao/Datta–Lahiri, parametric bootstrap), a registry;
* `hb` — the exact hierarchical Bayes fit; `sar` — the spatial SAR model;
* `spatiotemporal`, `multivariate`, `arcsine`, `batch` — the other area-level front-ends;
* `inputs` — validation of the area-level inputs.
"""

"""The private numerical engine of the small-area models; it never imports a front-end.

* `gls`, `batched_eblup` — Fay–Herriot algebra with a diagonal covariance, one or many tables;
* `hyper_grid` — integration over hyperparameters on an INLA-style grid;
* `gaussian_field` — the Gaussian BYM2/ICAR model given its hyperparameters;
* `sparse_cholesky` — compiled supernodal sparse Cholesky and selected inversion;
* `sar_precision`, `sfh_operators`, `stfh_operators` — the precision form of the SAR models;
* `mixtures` — quantiles of Gaussian and gridded mixtures, cubature;
* `laplace_kernels`, `mrp_kernel` — compiled per-area loops; `products` — dense products.
"""

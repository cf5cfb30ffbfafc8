# Reference values for tests/test_compare_funnel.py: Spiegelhalter (2005, Statistics in
# Medicine 24:1185, Appendix A.1.1) interpolated exact funnel limits, written independently in
# R with base qpois/ppois/qbinom/pbinom. Run from the repository root: Rscript tests/data/compare/exact_limits_r.R
lim <- function(p, n, th, fam) {
  if (fam == "poisson") { r <- qpois(p, th * n); F <- ppois(r, th * n); F1 <- ppois(r - 1, th * n) }
  else { r <- qbinom(p, n, th); F <- pbinom(r, n, th); F1 <- pbinom(r - 1, n, th) }
  a <- ifelse(F > F1, (F - p) / (F - F1), 0)
  pmax(r - a, 0) / n
}
out <- NULL
np <- c(1000, 2500, 3000, 900, 4000, 12, 150000); thp <- 155 / 11400
nb <- c(20, 50, 120, 400, 1500); thb <- 0.074
for (p in c(0.025, 0.975, 0.001, 0.999)) {
  out <- rbind(out, data.frame(family = "poisson", target = thp, exposure = np, p = p, limit = lim(p, np, thp, "poisson")))
  out <- rbind(out, data.frame(family = "binomial", target = thb, exposure = nb, p = p, limit = lim(p, nb, thb, "binomial")))
}
write.csv(out, "tests/data/compare/exact_limits_r.csv", row.names = FALSE)

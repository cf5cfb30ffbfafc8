# Reference change points for crimestats' PELT with the Poisson cost.
#
# Runs R changepoint::cpt.meanvar(x, test.stat = "Poisson", penalty = "MBIC", method = "PELT")
# (defaults: minseglen = 2, penalty 3 * log(n), MBIC segment term log(segment length)) on
# synthetic Poisson series and writes the series and the change points to CSV.
#
# Usage: Rscript r_pelt_poisson_reference.R
# If the changepoint package is not installed, set PELTC_SO to a shared library exposing the
# package's C routine PELTC (built from its source with R CMD SHLIB); the script then calls it
# with the arguments cpt.meanvar passes to it.
set.seed(20261122)
specs <- list(
  list(n = 200,  rates = c(5, 12)),
  list(n = 500,  rates = c(20, 35, 15)),
  list(n = 1000, rates = c(2, 4, 1, 6)),
  list(n = 1000, rates = c(0.5, 2, 0.8)),
  list(n = 2000, rates = c(100, 120, 90, 150, 100, 130)),
  list(n = 800,  rates = c(30)),
  list(n = 3000, rates = c(8, 10, 8, 12, 9, 15)),
  list(n = 150,  rates = c(3, 3.5))
)

pelt_poisson_mbic <- function(x) {
  if (requireNamespace("changepoint", quietly = TRUE)) {
    fit <- changepoint::cpt.meanvar(x, test.stat = "Poisson", penalty = "MBIC", method = "PELT")
    return(changepoint::cpts(fit))
  }
  dyn.load(Sys.getenv("PELTC_SO"))
  n <- length(x)
  out <- .C("PELTC", cost_func = "meanvar.poisson.mbic", sumstat = as.double(c(0, cumsum(x))),
            n = as.integer(n), pen = as.double(3 * log(n)), cptsout = integer(n),
            error = 0L, shape = 1, minseglen = 2L, lastchangelike = double(n + 1),
            lastchangecpts = integer(n + 1), numchangecpts = integer(n + 1))
  cp <- sort(out$cptsout[out$cptsout > 0])
  cp[cp < n]
}

series <- list()
result <- list()
for (k in seq_along(specs)) {
  s <- specs[[k]]
  nseg <- length(s$rates)
  bounds <- if (nseg > 1) sort(sample(seq(20, s$n - 20), nseg - 1)) else integer(0)
  lens <- diff(c(0, bounds, s$n))
  x <- rpois(s$n, rep(s$rates, lens))
  series[[k]] <- data.frame(series = k, t = seq_len(s$n) - 1, y = x)
  cp <- pelt_poisson_mbic(x)
  result[[k]] <- data.frame(series = k, n = s$n, true = paste(bounds, collapse = " "),
                            r_changepoints = paste(cp, collapse = " "))
}
write.csv(do.call(rbind, series), "r_pelt_poisson_series.csv", row.names = FALSE)
write.csv(do.call(rbind, result), "r_pelt_poisson_changepoints.csv", row.names = FALSE)

# Export classic time series from R's `datasets` and `strucchange` packages to CSV, one file
# each with columns `time` (a label: year, "YYYY-MM" or "YYYYQn") and `value`.
# Run from this folder: Rscript export_r_datasets.R   (R 4.2, strucchange 1.5-3)
suppressMessages(library(strucchange))
lab <- function(x) {
  f <- frequency(x); tt <- time(x)
  yr <- floor(round(tt, 6)); cyc <- round((tt - yr) * f) + 1
  if (f == 12) sprintf("%d-%02d", yr, cyc) else if (f == 4) sprintf("%dQ%d", yr, cyc)
  else as.character(yr)
}
out <- function(x, name) {
  write.csv(data.frame(time = lab(x), value = as.numeric(x)), paste0(name, ".csv"),
            row.names = FALSE, quote = FALSE)
}
data(RealInt, GermanM1, package = "strucchange")
out(Nile, "nile"); out(UKDriverDeaths, "uk_driver_deaths")
out(Seatbelts[, "front"], "seatbelts_front")
out(RealInt, "us_real_interest"); out(ts(GermanM1[, "m"], start = c(1961, 1), frequency = 4), "german_m1")
out(AirPassengers, "air_passengers"); out(co2, "co2"); out(JohnsonJohnson, "johnson_johnson")
out(UKgas, "uk_gas"); out(austres, "australian_residents"); out(USAccDeaths, "us_accidental_deaths")
out(ldeaths, "uk_lung_deaths"); out(nottem, "nottingham_temperature"); out(uspop, "us_population")
out(LakeHuron, "lake_huron"); out(airmiles, "us_air_miles")

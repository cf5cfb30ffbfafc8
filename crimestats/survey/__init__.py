"""Design-based direct estimates from survey microdata (prevalence, incidence rates, variances)."""

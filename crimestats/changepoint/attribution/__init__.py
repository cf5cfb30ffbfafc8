"""Attribution: is a change in recorded crime more crime, more reporting or more recording?

Decomposition (per period $t$):

$$
\\text{recorded}_t = \\text{population}_t \\times \\text{incidence}_t \\times
\\text{reporting}_t \\times \\text{recording}_t .
$$

**Model.** With $y_t = \\log(\\text{recorded}_t/\\text{population}_t)$, $x_s$ the log survey
incidence of survey period $s$, $z_s$ the log survey share of incidents reported to the police
(optional) and, for each control offence $j$ (reliably reported: vehicle theft, burglary),
$y^{j}_t, x^{j}_s$:

$$
\\begin{aligned}
y_t &= \\alpha + I_t + P_t + W_t + \\varepsilon_t, &
x_s &= \\textstyle\\sum_t w_{st} I_t + \\eta_s, &
z_s &= \\alpha_z + \\textstyle\\sum_t w_{st} P_t + \\zeta_s, \\\\
y^{j}_t &= \\alpha_j + I^{j}_t + W_t + \\varepsilon^{j}_t, &
x^{j}_s &= \\textstyle\\sum_t w_{st} I^{j}_t + \\eta^{j}_s, \\\\
I_t &= \\beta_0 + \\beta_1 t + f_t + \\delta_I\\, 1[t \\ge k_I], &
f_t - 2f_{t-1} + f_{t-2} &\\sim N(0, \\sigma^2), \\\\
P_t &= \\textstyle\\sum_{m} \\delta_{P,m}\\, g_{m}(t), &
W_t &= \\textstyle\\sum_{m} \\delta_{W,m}\\, g_{m}(t),
\\end{aligned}
$$

* $I_t$ is log incidence: a level and trend with flat priors plus a smooth curve $f$ (an
  integrated random walk: its second differences are $N(0, \\sigma^2)$) and at most one step;
* $P_t$ is offence-specific capture (reporting, or recording specific to the offence) and
  $W_t$ a recording change shared by every offence of the force or country; each moves by
  changes $g_m(t) = \\min\\{1, \\max\\{0, (t - k_m + 1)/L_m\\}\\}$ — a step ($L_m = 1$) or a
  ramp over $L_m$ periods — with at most ``max_changes`` changes of $P$ and $W$ together;
* $I^{j}_t$ is a control's own smooth log incidence (same $\\sigma$);
* $w_{st}$ are the weights of recorded period $t$ in survey period $s$ (1 on the same period,
  or month-overlap weights from `crimestats.calendar.align_survey`);
* sampling errors: $\\eta_s, \\zeta_s$ normal with the survey's standard errors on the log
  scale ($\\mathrm{se}/\\text{estimate}$); $\\varepsilon_t$ normal with variance
  $1/\\text{recorded}_t + \\tau^2$ (Poisson noise plus extra year-to-year noise $\\tau$, as
  from negative binomial counts or local events).

**Priors.** Changes $\\delta \\sim N(0, 0.5^2)$; incidence has a step, and the capture changes,
each with probability ``prior_change`` (0.25: a change needs a Bayes factor of 3 to be more
likely than not; with controls, reporting and recording each change with probability
$1 - \\sqrt{1 - p}$), at start periods equally likely (or half the weight on ``shocks``), with
lengths in ``ramp_lengths`` equally likely, a second change of a capture component 0.3 times
as likely as one; $\\log \\tau \\sim N(\\log 0.05, 1)$, $\\log \\sigma \\sim N(\\log 0.01, 1)$.

**Identification.**

* The survey identifies incidence $I_t$: it is measured independently of the police.
* Recorded crime over survey incidence identifies the police *capture* $P_t + W_t$. The
  smooth incidence curve means a bend in recorded crime that the survey shares is read as
  incidence, not as a capture change.
* Control offences identify the recording-wide part $W_t$: their reporting is assumed stable,
  so a shift in their recorded-to-survey ratio is a recording change that also hits the
  target offence. Without controls, $W$ and $P$ are not separable and only their sum
  ("reporting or recording") is reported.
* The survey's share reported to the police, if given, identifies reporting $P_t$ directly.

**Computation (exact up to quadrature).** Given the configuration of changes (which steps and
ramps, where) and the hyperparameters $(\\tau, \\sigma)$, everything is linear-Gaussian: the
levels, trends, smooth curves and change sizes are integrated out in closed form, so the
marginal likelihood of each configuration is exact. The posterior enumerates every
configuration (thousands) at every node of a $15 \\times 11$ grid of $(\\tau, \\sigma)$,
integrated with the trapezoid rule on the log scale — the one approximation, checked by
halving the grid spacing. Intervals and ``prob_not_incidence`` summarise the resulting mixture
of Gaussians by exact draws from it. No MCMC.

**Assumptions to check.** The survey measures the same offence definition as the police count
(use comparable subsets); population is known; controls' reporting and the survey design are
stable; the extra noise is independent from year to year; capture is constant between its
changes (a slow drift in reporting over the whole window is read as several small changes or
as incidence).
"""

from ._attribute import attribute
from ._results import AttributionResult

__all__ = ["attribute", "AttributionResult"]

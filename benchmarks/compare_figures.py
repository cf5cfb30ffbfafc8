"""Draw the figures of the compare guide, tutorial and validation page into docs/assets/compare/.

    .venv/bin/python benchmarks/compare_figures.py
"""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from crimestats.compare import funnel, rank_uncertainty  # noqa: E402
from crimestats.datasets import (  # noqa: E402
    VIOLENCE_OFFENCES,
    load_population,
    load_recorded_crime,
    load_violence_domains,
)
from crimestats.plotting import funnel_plot, rank_plot  # noqa: E402
from crimestats.sae import fay_herriot  # noqa: E402

OUT = Path(__file__).parents[1] / "docs" / "assets" / "compare"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    warnings.simplefilter("ignore")
    crime = load_recorded_crime(years=2018)
    crime["crime"] = np.select(
        [crime["offence"].isin(VIOLENCE_OFFENCES), crime["offence"].str.contains("burglary")],
        ["violence", "burglary"], "other")
    latest = crime.groupby(["force", "crime"])["offences"].sum().unstack()
    latest["residents"] = load_population("pfa").set_index("force")["residents"]
    for name in ("violence", "burglary"):
        res = funnel(latest[name], latest["residents"], per=1000)
        fig, ax = plt.subplots(figsize=(7.5, 5.0))
        funnel_plot(res, ax=ax, highlight="Kent", xlabel="residents (2011 Census)",
                    ylabel=f"recorded {name} per 1,000 residents, 2017/18")
        fig.tight_layout()
        fig.savefig(OUT / f"funnel_{name}.png", dpi=110)
        plt.close(fig)
    young = load_violence_domains().query("age == '16-24'")
    fit = fay_herriot("direct", "variance", data=young, areas="region", method="hb",
                      draws=4000, random_seed=1)
    fig, ax = plt.subplots(figsize=(6.5, 4.0))
    rank_plot(rank_uncertainty(fit), ax=ax)
    ax.set_title("CSEW violence, adults 16-24, year to Dec 2018", fontsize="medium")
    fig.tight_layout()
    fig.savefig(OUT / "ranks_regions.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()

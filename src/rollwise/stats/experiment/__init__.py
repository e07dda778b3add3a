"""Experiment statistics: pure functions of per-arm sufficient statistics.

No I/O, no global state. The analysis engine (:mod:`rollwise.analysis.experiment`) feeds
these from its metric sources; docs/experiments.md explains every number.
"""

from .arms import ArmStatistic, arm_statistic
from .bayesian import FLAT, BayesianLift, GaussianPrior, bayesian_lift, posterior
from .corrections import Adjusted, Correction, adjust, benjamini_hochberg, holm
from .cuped import Cuped, cuped_adjustment
from .lift import Comparison, Lift, Test, compare, compare_arms
from .power import PowerModel
from .samples import (
    Covariate,
    Proportion,
    RatioCovariate,
    RatioSample,
    Sample,
    SampleMean,
    cap_values,
    percentile_cap,
    proportion_of,
    ratio_of,
    sample_mean_of,
)
from .sequential import DEFAULT_TUNING, NormalMixture
from .srm import SRM_THRESHOLD, SampleRatioTest, sample_ratio_test

__all__ = [
    "DEFAULT_TUNING",
    "FLAT",
    "SRM_THRESHOLD",
    "Adjusted",
    "ArmStatistic",
    "BayesianLift",
    "Comparison",
    "Correction",
    "Covariate",
    "Cuped",
    "GaussianPrior",
    "Lift",
    "NormalMixture",
    "PowerModel",
    "Proportion",
    "RatioCovariate",
    "RatioSample",
    "Sample",
    "SampleMean",
    "SampleRatioTest",
    "Test",
    "adjust",
    "arm_statistic",
    "bayesian_lift",
    "benjamini_hochberg",
    "cap_values",
    "compare",
    "compare_arms",
    "cuped_adjustment",
    "holm",
    "percentile_cap",
    "posterior",
    "proportion_of",
    "ratio_of",
    "sample_mean_of",
    "sample_ratio_test",
]

"""Statistics for SIPAS satisfaction surveys: pure functions on DataFrames and arrays.

Imports only numpy, pandas and scipy (never Flask, SQLAlchemy or the web app), so it
also runs on its own: ``python -m analysis indices responses.csv``.

Where each topic lives:

=====================  ================================================================
``design``             the survey design: strata, PSUs, weights, fpc, lonely-PSU rules
``answers``            answers to the criteria, checked, as answered/satisfied flags
``domains``            units, the tree nodes above them and ``ALL`` as domains
``grouping``           grouped sums (the primitive behind everything else)
``variance``           variance of totals from PSU totals (R's ``svyrecvar``)
``composites``         element and overall indices as means of criterion indices
``linearization``      estimates, linearised variances and scores of every domain
``estimate``           the result table: intervals, n_eff, deff, reliability
``intervals``          intervals for proportions, design effects, effective sizes
``compare``            differences between units and periods, ranks with intervals
``plan``               sample size per unit
``weights``            base weights, nonresponse, post-stratification, raking, GREG
                       calibration, trimming, diagnostics (one module each)
``cli``                ``python -m analysis``: one module per command
=====================  ================================================================
"""

from .columns import ALL, OUTPUT_COLUMNS, OVERALL
from .compare import (
    compare_pairs,
    compare_periods,
    compare_to_parent,
    difference_table,
    holm,
    rank_intervals,
)
from .design import LONELY_PSU_RULES, Design, DesignError, make_design
from .estimate import Reliability, index_table, indices
from .intervals import (
    CI_METHODS,
    beta_interval,
    clopper_pearson_interval,
    design_effect,
    effective_sample_size,
    kish_weighting_effect,
    korn_graubard_interval,
    logit_interval,
    proportion_interval,
    t_interval,
    wilson_interval,
)
from .linearization import (
    Linearization,
    linearize,
    point_estimates,
    point_estimates_without,
)
from .plan import plan_sample, sample_size_proportion, sample_size_yamane
from .questionnaire import QuestionnaireError, Structure, load_structure
from .variance import psu_total_covariance, total_covariance
from .weights import (
    ConvergenceError,
    GregCalibration,
    PostStratification,
    RakingCalibration,
    WeightingError,
    base_weights,
    calibrate,
    nonresponse_adjust,
    post_stratify,
    rake,
    trim_weights,
    weight_diagnostics,
)

__all__ = [
    "ALL",
    "CI_METHODS",
    "LONELY_PSU_RULES",
    "OUTPUT_COLUMNS",
    "OVERALL",
    "ConvergenceError",
    "Design",
    "DesignError",
    "GregCalibration",
    "Linearization",
    "PostStratification",
    "QuestionnaireError",
    "RakingCalibration",
    "Reliability",
    "Structure",
    "WeightingError",
    "base_weights",
    "beta_interval",
    "calibrate",
    "clopper_pearson_interval",
    "compare_pairs",
    "compare_periods",
    "compare_to_parent",
    "design_effect",
    "difference_table",
    "effective_sample_size",
    "holm",
    "index_table",
    "indices",
    "kish_weighting_effect",
    "korn_graubard_interval",
    "linearize",
    "point_estimates",
    "point_estimates_without",
    "load_structure",
    "logit_interval",
    "make_design",
    "nonresponse_adjust",
    "plan_sample",
    "post_stratify",
    "proportion_interval",
    "psu_total_covariance",
    "rake",
    "rank_intervals",
    "sample_size_proportion",
    "sample_size_yamane",
    "t_interval",
    "total_covariance",
    "trim_weights",
    "weight_diagnostics",
    "wilson_interval",
]

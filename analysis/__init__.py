"""Statistics for SIPAS satisfaction surveys: pure functions on DataFrames and arrays.

Imports only numpy, pandas and scipy (never Flask, SQLAlchemy or the web app), so it
also runs on its own: ``python -m analysis indices responses.csv``.
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
from .estimate import (
    Linearization,
    Reliability,
    index_table,
    indices,
    linearize,
    psu_total_covariance,
    total_covariance,
)
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
from .plan import plan_sample, sample_size_proportion, sample_size_yamane
from .questionnaire import QuestionnaireError, Structure, load_structure
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

"""Survey weights: base weights, nonresponse adjustment, calibration and trimming.

The calibration steps (post-stratification, raking, calibration) return a new
:class:`~analysis.design.Design` whose ``calibrations`` end with an object that the
variance estimator uses to replace the weighted linearised scores by calibration
residuals before they are summed over PSUs, exactly as R's ``survey`` package does
in ``svyrecvar`` with ``design$postStrata``. The variance of a calibrated estimator
is therefore not the variance one would get by treating the final weights as fixed
design weights: the part of the scores explained by the calibration variables does
not contribute (Deville and Särndal 1992; Lumley 2010, ch. 7).

Which R call each function reproduces (survey 4.1-1):

==========================  ====================================================
``post_stratify``           ``postStratify(design, ~a+b, population)``
``rake(variance="greg")``   ``calibrate(design, list(~a+b, ~a+c), list(...),
                            calfun="raking")`` (the weights are the same raking
                            solution; the GREG residuals are the textbook choice)
``rake(variance="rake")``   ``rake(design, list(~a+b, ~a+c), list(...))``
``calibrate``               ``calibrate(..., calfun="raking" | "linear")``
``trim_weights``            ``trimWeights(design, lower, upper, strict)``
==========================  ====================================================

One module per step: ``base`` (base weights, nonresponse adjustment),
``poststratify``, ``raking``, ``greg`` (calibration by Newton's method and the GREG
residuals), ``trimming``, ``diagnostics``; ``margins`` matches responses to population
tables for all of them, and ``blocks`` splits the calibration cells into blocks that
share no respondent, so that raking every commune of the country to its own margins
solves thousands of small systems instead of one of the size of all cells.

A margin is a DataFrame whose columns other than ``population`` name variables of the
response frame; each row is a cell and its population total, as the ``Freq`` column of
a population data frame in R.

References
----------
Deming, W. E. and Stephan, F. F. (1940). On a least squares adjustment of a sampled
frequency table when the expected marginal totals are known. *Annals of Mathematical
Statistics* 11, 427-444.
Deville, J.-C. and Särndal, C.-E. (1992). Calibration estimators in survey sampling.
*Journal of the American Statistical Association* 87, 376-382.
Kish, L. (1992). Weighting for unequal P_i. *Journal of Official Statistics* 8,
183-200.
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley, ch. 7.
Potter, F. J. (1990). A study of procedures to identify and trim extreme sampling
weights. *Proceedings of the Survey Research Methods Section, American Statistical
Association*, 225-230.
Lumley, T. (2024). survey: analysis of complex survey samples. R package 4.1-1
(functions ``postStratify``, ``rake``, ``calibrate``, ``grake``, ``trimWeights``,
``svyrecvar``).
Valliant, R., Dever, J. A. and Kreuter, F. (2018). *Practical Tools for Designing and
Weighting Survey Samples*, 2nd ed. Springer, ch. 13-14.
"""

from .base import base_weights, nonresponse_adjust
from .diagnostics import weight_diagnostics
from .greg import GregCalibration, calibrate
from .margins import POPULATION, ConvergenceError, WeightingError
from .poststratify import PostStratification, post_stratify
from .raking import RakingCalibration, rake
from .trimming import trim_weights

__all__ = [
    "POPULATION",
    "ConvergenceError",
    "GregCalibration",
    "PostStratification",
    "RakingCalibration",
    "WeightingError",
    "base_weights",
    "calibrate",
    "nonresponse_adjust",
    "post_stratify",
    "rake",
    "trim_weights",
    "weight_diagnostics",
]

"""Composite indices: element and overall indices as means of criterion indices.

An element index is the mean of its criterion indices; the overall index is the mean
of the element indices (``criteria_then_elements``, 2640/QĐ-BNV) or of all criterion
indices (``items``), as the questionnaire version says
(:mod:`analysis.questionnaire`). A composite is a linear combination of ratios,
:math:`\\hat\\theta_d = \\sum_k c_{dk} \\hat R_{dk}`, and its linearised score is
the same combination of the criterion scores (Binder 1983). In a domain where a
criterion has no answers, the mean is over the parts that have answers, and the
result table says so.

References
----------
Binder, D. A. (1983). On the variances of asymptotically normal estimators from complex
surveys. *International Statistical Review* 51, 279-292.
"""

from __future__ import annotations

import numpy as np

from .questionnaire import Structure


def membership(structure: Structure) -> np.ndarray:
    """Boolean ``(1 + E, K)``: criteria of the overall index, then of each element."""
    criteria = structure.criteria
    elements = [
        [code in codes for code in criteria] for codes in structure.elements.values()
    ]
    return np.array([[True] * len(criteria), *elements])


def composite_coefficients(
    structure: Structure, answered: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coefficients ``c[d, j, k]`` of the composites: overall, then the elements.

    A composite is the mean of its parts (criteria, or elements for the overall index
    under ``criteria_then_elements``) that have answers in the domain.

    Parameters
    ----------
    structure : Structure
    answered : ndarray of bool, shape (D, K)
        Whether criterion ``k`` has answers in domain ``d``.

    Returns
    -------
    coefficients : ndarray, shape (D, 1 + E, K)
    parts_used, parts_total : ndarray, shape (D, 1 + E)
    """
    member = membership(structure)[1:].astype(float)  # (E, K)
    available = answered.astype(float)  # (D, K)
    used = available @ member.T  # (D, E)
    with np.errstate(divide="ignore", invalid="ignore"):
        element = np.where(
            used[:, :, None] > 0, available[:, None, :] * member / used[:, :, None], 0.0
        )
        if structure.aggregation == "items":
            overall_used = available.sum(axis=1)
            overall_parts = available
            overall_total = member.shape[1]
        else:
            overall_used = (used > 0).sum(axis=1).astype(float)
            overall_parts = element.sum(axis=1)
            overall_total = member.shape[0]
        overall = np.where(
            overall_used[:, None] > 0, overall_parts / overall_used[:, None], 0.0
        )
    coefficients = np.concatenate([overall[:, None, :], element], axis=1)
    parts_used = np.column_stack([overall_used, used])
    parts_total = np.column_stack(
        [
            np.full(len(used), overall_total),
            np.broadcast_to(member.sum(axis=1), used.shape),
        ]
    )
    return coefficients, parts_used, parts_total


def composite_factors(
    coefficients: np.ndarray, member: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per element and domain, the common coefficient of its criteria and the
    element's weight in the overall index, both ``(E, D)``.

    Within an element all criteria with answers share one coefficient ``c_dk``; the
    overall index's coefficients are the element's times a factor per domain.
    """
    parts = member[1:].astype(float)  # (E, K)
    with np.errstate(divide="ignore", invalid="ignore"):
        element_sum = np.einsum("dek,ek->de", coefficients[:, 1:, :], parts)
        answered = (coefficients[:, 1:, :] > 0) @ np.ones(parts.shape[1])
        scale = np.nan_to_num(element_sum / answered)
        factor = np.nan_to_num((coefficients[:, 0, :] @ parts.T) / element_sum)
    return np.ascontiguousarray(scale.T), np.ascontiguousarray(factor.T)

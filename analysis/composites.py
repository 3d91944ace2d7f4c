"""Composite indices: element, area and overall indices as means of criterion indices.

An element index is the mean of its criterion indices; an area (the two fields of
1001/QĐ-BNV) and the overall index are the means of their element indices
(``criteria_then_elements``, 2640/QĐ-BNV) or of all their criterion indices
(``items``, 1001/QĐ-BNV), as the questionnaire version says
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

from dataclasses import dataclass

import numpy as np

from .questionnaire import Structure


@dataclass(frozen=True)
class Composites:
    """How the composites of a questionnaire are built from its criteria.

    The composites are the overall index and the areas ("tops", each a union of
    elements), then the elements (each a set of criteria).
    """

    elements: np.ndarray  # (E, K) bool: criteria of each element
    tops: np.ndarray  # (T, E) bool: elements of the overall index and of each area

    @classmethod
    def of(cls, structure: Structure) -> Composites:
        criteria = structure.criteria
        elements = np.array(
            [[c in codes for c in criteria] for codes in structure.elements.values()]
        )
        names = list(structure.elements)
        areas = [[e in codes for e in names] for codes in structure.areas.values()]
        return cls(elements, np.array([[True] * len(names), *areas], dtype=bool))

    @property
    def ntop(self) -> int:
        return len(self.tops)

    @property
    def element_of(self) -> np.ndarray:
        """Element of each criterion, (K,)."""
        return self.elements.argmax(axis=0)

    def any_answer(self, answered: np.ndarray) -> np.ndarray:
        """Rows with an answer to any criterion of each composite, (T + E, n)."""
        elements = np.stack([answered[m].any(axis=0) for m in self.elements])
        tops = [np.logical_or.reduce(elements[m]) for m in self.tops]
        return np.concatenate([np.stack(tops), elements])


def composite_coefficients(
    structure: Structure, answered: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coefficients ``c[d, j, k]`` of the composites: overall, areas, elements.

    A composite is the mean of its parts that have answers in the domain: its
    criteria for an element, and for the overall index and an area its criteria
    under ``items`` or its elements under ``criteria_then_elements``.

    Parameters
    ----------
    structure : Structure
    answered : ndarray of bool, shape (D, K)
        Whether criterion ``k`` has answers in domain ``d``.

    Returns
    -------
    coefficients : ndarray, shape (D, T + E, K)
    parts_used, parts_total : ndarray, shape (D, T + E)
    """
    layout = Composites.of(structure)
    member = layout.elements.astype(float)  # (E, K)
    tops = layout.tops.astype(float)  # (T, E)
    available = answered.astype(float)  # (D, K)
    used = available @ member.T  # (D, E)
    with np.errstate(divide="ignore", invalid="ignore"):
        element = np.where(
            used[:, :, None] > 0, available[:, None, :] * member / used[:, :, None], 0.0
        )
        if structure.aggregation == "items":
            top_member = tops @ member  # (T, K)
            top_used = available @ top_member.T  # (D, T)
            top_parts = available[:, None, :] * top_member  # (D, T, K)
            top_total = top_member.sum(axis=1)
        else:
            top_used = (used > 0).astype(float) @ tops.T  # (D, T)
            top_parts = np.einsum("te,dek->dtk", tops, element)
            top_total = tops.sum(axis=1)
        top = np.where(top_used[:, :, None] > 0, top_parts / top_used[:, :, None], 0.0)
    coefficients = np.concatenate([top, element], axis=1)
    parts_used = np.column_stack([top_used, used])
    parts_total = np.column_stack(
        [
            np.broadcast_to(top_total, top_used.shape),
            np.broadcast_to(member.sum(axis=1), used.shape),
        ]
    )
    return coefficients, parts_used, parts_total


def composite_factors(
    coefficients: np.ndarray, layout: Composites
) -> tuple[np.ndarray, np.ndarray]:
    """Per element and domain, the common coefficient of its criteria, ``(E, D)``,
    and each element's weight in the overall index and the areas, ``(T, E, D)``.

    Within an element all criteria with answers share one coefficient ``c_dk``; the
    coefficients of the overall index and of an area are the element's times a
    factor per domain.
    """
    parts = layout.elements.astype(float)  # (E, K)
    ntop = layout.ntop
    with np.errstate(divide="ignore", invalid="ignore"):
        element_sum = np.einsum("dek,ek->de", coefficients[:, ntop:, :], parts)
        answered = (coefficients[:, ntop:, :] > 0) @ np.ones(parts.shape[1])
        scale = np.nan_to_num(element_sum / answered)
        factor = np.nan_to_num(
            np.einsum("dtk,ek->dte", coefficients[:, :ntop, :], parts)
            / element_sum[:, None, :]
        )
    return np.ascontiguousarray(scale.T), np.ascontiguousarray(
        factor.transpose(1, 2, 0)
    )

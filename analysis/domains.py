"""Domains: the units, the nodes of the unit tree above them, and the whole population.

Estimates for a unit are estimates for a subpopulation (domain) of the whole sample:
every sampled PSU of a stratum stays in the variance, with a zero total where the
domain has nobody (Lumley 2010, sec. 2.3.1; R's ``subset(design, unit == u)``). A
response belongs to its unit, to each ancestor of the unit in the tree, and to
``"ALL"``; :class:`Domains` records for each unit this chain of domains, so that
per-unit sums reach every domain by one grouped sum per tree level, never by a loop
over units.

References
----------
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley, sec. 2.3.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .columns import ALL
from .design import DesignError


@dataclass(frozen=True)
class Domains:
    """Every unit in the data, every tree node above them, and ``"ALL"``.

    Attributes
    ----------
    labels : ndarray of str, shape (D,)
        Domain labels, ``"ALL"`` first (if included), then units and nodes sorted.
    row_leaf : ndarray of int, shape (n,)
        Code of each row's unit, ``0 .. G-1``.
    chain : ndarray of int, shape (G, L)
        Domains of each unit: itself and its ancestors, root last, then ``"ALL"``.
        The chains are aligned on their roots (-1 pads on the left), so a node is
        always in the same column (tree level), whichever unit it is reached from.
    """

    labels: np.ndarray
    row_leaf: np.ndarray
    chain: np.ndarray


def domain_tree(
    values: pd.Series, parents: Mapping[str, str] | None, include_all: bool
) -> Domains:
    """Domain of every tree node reachable from the data, and each unit's chain."""
    missing = values.isna().to_numpy()
    if missing.any():
        raise DesignError(
            f"domain column {values.name!r} has {missing.sum()} missing values"
        )
    row_leaf, leaves = pd.factorize(values, sort=True)
    leaves = np.asarray(leaves).astype(str)
    if ALL in leaves and include_all:
        raise DesignError(f"a unit may not be called {ALL!r}")
    parents = {str(k): str(v) for k, v in (parents or {}).items()}
    nodes = pd.Index(leaves).append(pd.Index(list(parents)))
    nodes = nodes.append(pd.Index(list(parents.values()))).unique()
    parent = nodes.get_indexer(pd.Index(list(parents.values())))
    parent_of = np.full(len(nodes), -1)
    parent_of[nodes.get_indexer(pd.Index(list(parents)))] = parent
    steps = [np.arange(len(leaves))]
    while (steps[-1] >= 0).any():
        if len(steps) > len(nodes):
            raise DesignError("the parent mapping has a cycle")
        current = steps[-1]
        steps.append(np.where(current >= 0, parent_of[np.maximum(current, 0)], -1))
    chain = np.stack(steps[:-1], axis=1)  # node indices, -1 beyond the root
    depth = (chain >= 0).sum(axis=1)
    units, step = np.nonzero(chain >= 0)
    aligned = np.full_like(chain, -1)
    aligned[units, step + chain.shape[1] - depth[units]] = chain[units, step]
    chain = aligned
    used = np.unique(chain[chain >= 0])
    order = np.argsort(nodes[used].to_numpy().astype(str), kind="stable")
    labels = nodes[used].to_numpy().astype(str)[order]
    domain_of_node = np.full(len(nodes), -1)
    domain_of_node[used[order]] = np.arange(len(used)) + int(include_all)
    chain = np.where(chain >= 0, domain_of_node[np.maximum(chain, 0)], -1)
    if include_all:
        labels = np.concatenate([[ALL], labels])
        chain = np.concatenate([chain, np.zeros((len(leaves), 1), dtype=int)], axis=1)
    return Domains(labels.astype(object), row_leaf.astype(np.intp), chain)


def to_domains(values: np.ndarray, chain: np.ndarray, ndomains: int) -> np.ndarray:
    """Sum per-unit values ``(..., G)`` into domains ``(..., D)`` along the chains."""
    values = np.asarray(values, dtype=float)
    flat = values.reshape(-1, values.shape[-1])
    out = np.zeros((flat.shape[0], ndomains))
    for level in chain.T:  # a handful of tree levels, not units
        valid = level >= 0
        for row, column in zip(out, flat, strict=True):
            row += np.bincount(level[valid], weights=column[valid], minlength=ndomains)
    return out.reshape(*values.shape[:-1], ndomains)

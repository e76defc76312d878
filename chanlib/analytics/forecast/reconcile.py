"""Coherent forecasts for hierarchical and grouped structures (e.g. total → region → channel → partner, or
State/Region crossed with Purpose).

- :func:`summing_matrix` builds the summing matrix ``S`` (one row per node, one column per bottom series) from
  key columns; each entry of ``levels`` is a list of key columns (``[]`` is the total). Crossed levels such as
  ``["State", "Purpose"]`` make grouped structures; the bottom level (all key columns) is always included.
- :func:`aggregate` sums a bottom-level long frame up to every node and returns it with ``S``.
- :func:`reconcile` maps base forecasts of every node to coherent ones: ``bottom_up``, ``top_down`` (forecast
  proportions, Athanasopoulos et al. 2009), ``ols``, ``wls_struct`` and ``mint_shrink`` (Wickramasuriya, Athanasopoulos
  & Hyndman 2019, with the Schäfer–Strimmer shrinkage of the residuals' sample covariance). The arithmetic is Nixtla's
  hierarchicalforecast (``BottomUp``, ``TopDown``, ``MinTrace`` on arrays); this module turns long frames and ``S``
  into its arrays and back (``bench/forecast_tourism.py`` compares the two on fpp3's tourism hierarchy).

Node ids are the key values joined with ``/`` (``total`` for the grand total), e.g. ``North/online``.

Examples
--------
>>> import pandas as pd
>>> keys = pd.DataFrame({"region": ["N", "N", "S"], "channel": ["web", "shop", "web"]})
>>> S = summing_matrix(keys, [[], ["region"], ["region", "channel"]])
>>> S.astype(int)
         N/shop  N/web  S/web
total         1      1      1
N             1      1      0
S             0      0      1
N/shop        1      0      0
N/web         0      1      0
S/web         0      0      1
>>> base = pd.DataFrame({"unique_id": S.index, "ds": 1, "yhat": [10.0, 7.0, 2.0, 3.0, 3.0, 2.0]})
>>> rec = reconcile(base, S, method="ols")
>>> rec.set_index("unique_id")["yhat"].round(3).to_dict()
{'total': 9.385, 'N': 7.077, 'S': 2.308, 'N/shop': 3.538, 'N/web': 3.538, 'S/web': 2.308}
"""
from __future__ import annotations

import logging
from typing import Literal

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

Method = Literal["bottom_up", "top_down", "ols", "wls_struct", "mint_shrink"]
METHODS = ("bottom_up", "top_down", "ols", "wls_struct", "mint_shrink")
TOTAL = "total"


def _node_ids(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    if not columns:
        return pd.Series(TOTAL, index=frame.index)
    return frame[columns].astype(str).agg("/".join, axis=1)


def _key_columns(levels: list[list[str]]) -> list[str]:
    return list(dict.fromkeys(c for level in levels for c in level))


def summing_matrix(bottom_df: pd.DataFrame, levels: list[list[str]]) -> pd.DataFrame:
    """The summing matrix ``S`` as a 0/1 float frame: index = every node id (level by level in the given order,
    ids sorted within a level), columns = bottom ids (sorted). ``S.attrs["levels"]`` maps node id -> level name
    (its key columns joined by ``/``, ``total`` for ``[]``)."""
    keys = _key_columns(levels)
    missing = [c for c in keys if c not in bottom_df.columns]
    if missing:
        raise ValueError(f"missing key column(s) {', '.join(missing)} for the hierarchy levels")
    units = bottom_df[keys].drop_duplicates().sort_values(keys, kind="stable").reset_index(drop=True)
    bottom_ids = _node_ids(units, keys)
    order = np.argsort(bottom_ids.to_numpy(), kind="stable")
    units, bottom_ids = units.iloc[order].reset_index(drop=True), bottom_ids.iloc[order].reset_index(drop=True)
    all_levels = list(levels) if any(list(lv) == keys for lv in levels) else [*levels, keys]
    blocks: list[np.ndarray] = []
    names: list[str] = []
    level_of: dict[str, str] = {}
    for level in all_levels:
        ids = _node_ids(units, list(level))
        nodes = sorted(ids.unique())
        position = {node: i for i, node in enumerate(nodes)}
        block = np.zeros((len(nodes), len(units)))
        block[ids.map(position).to_numpy(), np.arange(len(units))] = 1.0
        label = "/".join(level) if level else TOTAL
        for node in nodes:
            if node in level_of:
                if level_of[node] == label:
                    continue
                raise ValueError(f"node id {node!r} occurs at levels {level_of[node]} and {label}: "
                                 "make the key values distinct across levels")
            level_of[node] = label
        blocks.append(block)
        names.extend(nodes)
    S = pd.DataFrame(np.vstack(blocks), index=pd.Index(names), columns=bottom_ids.to_list())
    S = S[~S.index.duplicated()]
    S.attrs["levels"] = level_of
    return S


def aggregate(df: pd.DataFrame, levels: list[list[str]], value: str = "y",
              time: str = "ds") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sum a bottom-level frame (key columns, ``ds``, ``y``) to every node of ``levels``.

    Returns ``(long, S)``: ``long`` has ``unique_id, ds, y`` for every node (ordered like ``S``), ``S`` as from
    :func:`summing_matrix`.
    """
    S = summing_matrix(df, levels)
    keys = _key_columns(levels)
    bottom = df.assign(unique_id=_node_ids(df, keys).to_numpy())
    wide = bottom.pivot_table(index="unique_id", columns=time, values=value, aggfunc="sum").reindex(S.columns)
    values = S.to_numpy() @ np.nan_to_num(wide.to_numpy())
    long = pd.DataFrame(values, index=S.index, columns=wide.columns).stack().rename(value).reset_index()
    long.columns = ["unique_id", "ds", value]
    return long, S


def _bottom_last(S: pd.DataFrame) -> np.ndarray:
    """Row order that puts the aggregate nodes first and the bottom series last, in column order: the layout
    hierarchicalforecast's reconcilers expect (the bottom block of ``S`` an identity)."""
    bottom = _bottom_rows(S)
    taken = set(bottom)
    return np.array([i for i in range(len(S)) if i not in taken] + bottom, dtype=int)


def _bottom_rows(S: pd.DataFrame) -> list[int]:
    """Row of each bottom series (the row named like its column)."""
    index = pd.Index(S.index.astype(str))
    missing = [c for c in S.columns if c not in index]
    if missing:
        raise ValueError(f"S has no row for bottom series {', '.join(map(str, missing[:5]))}")
    return [int(index.get_loc(c)) for c in S.columns]


def _td_chain(S: pd.DataFrame) -> list[list[int]]:
    """Row groups from the total down to the bottom forming a tree (each group refines the one above)."""
    level_of = S.attrs.get("levels") or {}
    matrix = S.to_numpy()
    groups: dict[str, list[int]] = {}
    for i, node in enumerate(S.index):
        groups.setdefault(level_of.get(node, "?"), []).append(i)
    total = [i for i in range(len(S)) if matrix[i].all()]
    if not total:
        raise ValueError("top_down needs a total node (a row of S with all ones)")
    n_bottom = matrix.shape[1]
    chain = [total[:1]]
    for label, rows in groups.items():
        if label == "?" or len(rows) in (1, n_bottom):
            continue
        block = matrix[rows]
        if not np.allclose(block.sum(axis=0), 1.0):
            continue  # not a partition of the bottom series
        parent = matrix[chain[-1]]
        # each node of this level lies inside one node of the previous chain level
        if all(((parent @ row) > 0).sum() == 1 and np.allclose(parent[(parent @ row).argmax()] * row, row)
               for row in block):
            chain.append(rows)
    return chain


def _top_down(S: pd.DataFrame, base: np.ndarray) -> np.ndarray:
    """Forecast-proportions top-down (hierarchicalforecast's ``TopDown``) along the chain of nested levels from the
    total to the bottom series; returns the bottom forecasts (columns of ``S`` × horizon)."""
    from hierarchicalforecast.methods import TopDown

    chain = [*_td_chain(S), _bottom_rows(S)]
    rows = [r for level in chain for r in level]
    bounds = np.cumsum([0] + [len(level) for level in chain])
    tags = {f"level{k}": np.arange(bounds[k], bounds[k + 1]) for k in range(len(chain))}
    out = TopDown(method="forecast_proportions").fit_predict(S=S.to_numpy(dtype=float)[rows], y_hat=base[rows],
                                                             tags=tags)["mean"]
    return out[tags[f"level{len(chain) - 1}"]]


def _library_bottom(method: str, S: pd.DataFrame, yhat: np.ndarray, resid: np.ndarray | None) -> np.ndarray:
    """The bottom forecasts of hierarchicalforecast's ``BottomUp`` or ``MinTrace(method)`` (``resid``: nodes ×
    dates of in-sample errors, for ``mint_shrink``)."""
    from hierarchicalforecast.methods import BottomUp, MinTrace

    order = _bottom_last(S)
    matrix = S.to_numpy(dtype=float)[order]
    extra = {} if resid is None else {"y_insample": resid[order], "y_hat_insample": np.zeros_like(resid[order])}
    reconciler = BottomUp() if method == "bottom_up" else MinTrace(method=method)
    try:
        out = reconciler.fit_predict(S=matrix, y_hat=yhat[order], **extra)["mean"]
    except ValueError:  # numpy's LinAlgError included
        raise
    except Exception as exc:  # the library raises bare Exceptions (an ill-conditioned W, residuals all zero)
        raise ValueError(f"{method}: {exc}") from exc
    return out[-S.shape[1]:]


def reconcile(base_forecasts: pd.DataFrame, S: pd.DataFrame, method: Method = "mint_shrink",
              residuals: pd.DataFrame | None = None, value: str = "yhat") -> pd.DataFrame:
    """Coherent forecasts from base forecasts of every node of ``S``.

    ``base_forecasts`` is long (``unique_id, ds, yhat`` and optionally ``lo_<l>``/``hi_<l>`` and other columns).
    ``residuals`` (needed by ``mint_shrink``) is long ``unique_id, ds, resid``: in-sample one-step errors of the
    base models, on common dates (dates where a node has no residual are dropped).
    Returns the frame with ``yhat`` replaced by the reconciled values and interval bounds shifted by the same
    adjustment (an approximation: the bounds keep the base models' widths), rows in the order of ``S``.
    """
    if method not in METHODS:
        raise ValueError(f"unknown reconciliation method {method!r} (known: {', '.join(METHODS)})")
    missing = [c for c in ("unique_id", "ds", value) if c not in base_forecasts.columns]
    if missing:
        raise ValueError(f"base forecasts: missing column(s) {', '.join(missing)}")
    nodes = S.index.astype(str)
    wide = base_forecasts.pivot(index="unique_id", columns="ds", values=value)
    absent = [n for n in nodes if n not in wide.index]
    if absent:
        raise ValueError(f"base forecasts: no rows for node(s) {', '.join(absent[:5])}"
                         + (f" and {len(absent) - 5} more" if len(absent) > 5 else ""))
    wide = wide.reindex(nodes)
    if wide.isna().any().any():
        raise ValueError("base forecasts: every node needs a forecast for every ds")
    yhat = wide.to_numpy(dtype=float)
    resid = None
    if method == "mint_shrink":
        if residuals is None:
            raise ValueError("mint_shrink needs in-sample residuals (unique_id, ds, resid)")
        res = residuals.pivot(index="ds", columns="unique_id", values="resid").reindex(columns=nodes)
        empty = [str(n) for n in res.columns[res.isna().all(axis=0).to_numpy()]]
        if empty:
            raise ValueError(f"mint_shrink: no residuals for node(s) {', '.join(empty[:5])}"
                             + (f" and {len(empty) - 5} more" if len(empty) > 5 else ""))
        res = res.dropna(axis=0, how="any")
        if len(res) < 3:
            raise ValueError("mint_shrink: fewer than 3 dates with residuals of every node")
        resid = res.to_numpy(dtype=float).T
    bottom = _top_down(S, yhat) if method == "top_down" else _library_bottom(method, S, yhat, resid)
    matrix = S.to_numpy(dtype=float)
    coherent = matrix @ bottom
    adjust = pd.DataFrame(coherent - yhat, index=nodes, columns=wide.columns)
    out = base_forecasts.set_index(["unique_id", "ds"]).copy()
    shift = adjust.stack().reindex(out.index).to_numpy()
    out[value] = out[value].to_numpy() + shift
    for column in out.columns:
        if column.startswith(("lo_", "hi_")):
            out[column] = out[column].to_numpy() + shift
    if "model" in out.columns:
        out["model"] = out["model"].astype(str) + f"/{method}"
    out = out.reset_index()
    order = {n: i for i, n in enumerate(nodes)}
    return out.sort_values(["unique_id", "ds"], key=lambda c: c.map(order) if c.name == "unique_id" else c,
                           kind="stable").reset_index(drop=True)

"""chanlib.analytics.forecast.reconcile: summing matrices of trees and crossed structures, coherence of every method."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from chanlib.analytics.forecast import aggregate, reconcile, summing_matrix
from chanlib.analytics.forecast.reconcile import METHODS

LEVELS_TREE = [[], ["region"], ["region", "channel"], ["region", "channel", "partner"]]
LEVELS_GROUPED = [[], ["region"], ["channel"], ["region", "channel"]]


def _bottom(seed: int = 0, periods: int = 30) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    keys = [("N", "web", "p1"), ("N", "web", "p2"), ("N", "shop", "p3"), ("S", "web", "p4"), ("S", "shop", "p5"),
            ("S", "shop", "p6"), ("E", "web", "p7")]
    rows = []
    for region, channel, partner in keys:
        level = rng.uniform(20, 100)
        for t in range(periods):
            rows.append((region, channel, partner, t, level + rng.normal(0, 5)))
    return pd.DataFrame(rows, columns=["region", "channel", "partner", "ds", "y"])


def _noisy_base(long: pd.DataFrame, seed: int = 1, h: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    last = long.groupby("unique_id", sort=False)["y"].mean()
    rows = [(uid, t, v * (1 + rng.normal(0, 0.1)), v * 0.8, v * 1.2) for uid, v in last.items() for t in range(h)]
    return pd.DataFrame(rows, columns=["unique_id", "ds", "yhat", "lo_80", "hi_80"])


def _residuals(long: pd.DataFrame, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    mean = long.groupby("unique_id")["y"].transform("mean")
    return long.assign(resid=long["y"] - mean + rng.normal(0, 0.5, len(long)))


def _assert_coherent(rec: pd.DataFrame, S: pd.DataFrame) -> None:
    wide = rec.pivot(index="unique_id", columns="ds", values="yhat").reindex(S.index)
    bottom = wide.loc[S.columns].to_numpy()
    assert np.abs(S.to_numpy() @ bottom - wide.to_numpy()).max() < 1e-6


def test_tree_summing_matrix():
    S = summing_matrix(_bottom(), LEVELS_TREE)
    assert S.shape == (1 + 3 + 5 + 7, 7)
    assert S.loc["total"].eq(1).all()
    assert S.loc["N/web"].sum() == 2 and S.loc["S/shop/p6"].sum() == 1
    assert S.attrs["levels"]["N/web"] == "region/channel"


def test_grouped_summing_matrix_adds_bottom_level():
    S = summing_matrix(_bottom(), [[], ["region"], ["channel"], ["partner"]])
    assert "web" in S.index and "N/web/p1" in S.index
    assert S.loc["web"].sum() == 4


def test_colliding_ids_are_refused():
    keys = pd.DataFrame({"a": ["x", "y"], "b": ["x", "z"]})
    with pytest.raises(ValueError, match="occurs at levels"):
        summing_matrix(keys, [[], ["a"], ["b"]])


def test_aggregate_sums_every_node():
    bottom = _bottom()
    long, S = aggregate(bottom, LEVELS_TREE)
    total = long[long["unique_id"] == "total"].set_index("ds")["y"]
    assert np.allclose(total.to_numpy(), bottom.groupby("ds")["y"].sum().to_numpy())
    assert long["unique_id"].nunique() == len(S)


@pytest.mark.parametrize("levels", [LEVELS_TREE, LEVELS_GROUPED], ids=["tree", "grouped"])
@pytest.mark.parametrize("method", METHODS)
def test_every_method_is_coherent(levels, method):
    long, S = aggregate(_bottom(), levels)
    base = _noisy_base(long)
    rec = reconcile(base, S, method=method, residuals=_residuals(long))
    _assert_coherent(rec, S)
    assert len(rec) == len(base) and rec["unique_id"].iloc[0] == "total"
    width = (rec["hi_80"] - rec["lo_80"]).to_numpy()
    assert np.allclose(width, (base.set_index(["unique_id", "ds"]).loc[list(zip(rec["unique_id"], rec["ds"]))]
                               .eval("hi_80 - lo_80").to_numpy()))


def test_bottom_up_keeps_bottom_forecasts():
    long, S = aggregate(_bottom(), LEVELS_TREE)
    base = _noisy_base(long)
    rec = reconcile(base, S, method="bottom_up")
    b = base.set_index(["unique_id", "ds"])["yhat"]
    r = rec.set_index(["unique_id", "ds"])["yhat"]
    assert np.allclose(r.loc[list(S.columns)], b.loc[list(S.columns)])


def test_top_down_keeps_the_total_and_proportions():
    long, S = aggregate(_bottom(), LEVELS_TREE)
    base = _noisy_base(long)
    rec = reconcile(base, S, method="top_down")
    b = base.set_index(["unique_id", "ds"])["yhat"]
    r = rec.set_index(["unique_id", "ds"])["yhat"]
    assert np.allclose(r.loc["total"], b.loc["total"])
    # a region's children keep the ratio of their base forecasts
    assert np.allclose(r.loc["S/shop/p5"] / r.loc["S/shop/p6"], b.loc["S/shop/p5"] / b.loc["S/shop/p6"])


def test_coherent_base_forecasts_are_left_alone():
    long, S = aggregate(_bottom(), LEVELS_GROUPED)
    bottom = np.arange(1, S.shape[1] + 1, dtype=float)
    coherent = S.to_numpy() @ bottom
    base = pd.DataFrame({"unique_id": S.index, "ds": 0, "yhat": coherent})
    for method in METHODS:
        rec = reconcile(base, S, method=method, residuals=_residuals(long))
        assert np.allclose(rec["yhat"].to_numpy(), coherent), method


def _schafer_strimmer(x: np.ndarray) -> np.ndarray:
    """The shrunk covariance of residuals ``x`` (dates × nodes) by its definition (Schäfer & Strimmer 2005, target
    the diagonal): the sample covariance, off-diagonal entries shrunk by lambda = sum of the estimated variances of
    the sample correlations / sum of their squares (off the diagonal), clipped to [0, 1]."""
    n, k = x.shape
    xc = x - x.mean(axis=0)
    cov = xc.T @ xc / (n - 1)
    sd = np.sqrt(np.diag(cov))
    xs = xc / sd
    corr = cov / np.outer(sd, sd)
    w = xs[:, :, None] * xs[:, None, :]
    var_r = n / (n - 1) ** 3 * ((w - w.mean(axis=0)) ** 2).sum(axis=0)
    off = ~np.eye(k, dtype=bool)
    lam = min(max(var_r[off].sum() / (corr[off] ** 2).sum(), 0.0), 1.0)
    shrunk = (1 - lam) * cov
    shrunk[np.diag_indices(k)] = np.diag(cov)
    return shrunk


def test_mint_shrink_is_the_gls_projection_with_the_shrunk_covariance():
    """MinT by hand: bottom = (S' W^-1 S)^-1 S' W^-1 yhat with W the Schäfer–Strimmer shrunk residual covariance."""
    long, S = aggregate(_bottom(), LEVELS_TREE)
    base = _noisy_base(long)
    residuals = _residuals(long)
    rec = reconcile(base, S, method="mint_shrink", residuals=residuals)
    nodes = list(S.index)
    x = residuals.pivot(index="ds", columns="unique_id", values="resid")[nodes].to_numpy()
    W = _schafer_strimmer(x)
    assert 0 < np.abs(W[~np.eye(len(nodes), dtype=bool)]).max()  # correlated: not just weighted least squares
    s = S.to_numpy()
    winv_s = np.linalg.solve(W, s)
    yhat = base.pivot(index="unique_id", columns="ds", values="yhat").loc[nodes].to_numpy()
    expected = s @ np.linalg.solve(s.T @ winv_s, winv_s.T @ yhat)
    got = rec.pivot(index="unique_id", columns="ds", values="yhat").loc[nodes].to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    # ... and it is not OLS: the weights matter here
    ols = reconcile(base, S, method="ols").pivot(index="unique_id", columns="ds", values="yhat").loc[nodes]
    assert np.abs(ols.to_numpy() - got).max() > 1e-3


def test_reconcile_input_errors():
    long, S = aggregate(_bottom(), LEVELS_TREE)
    base = _noisy_base(long)
    with pytest.raises(ValueError, match="no rows for node"):
        reconcile(base[base["unique_id"] != "N"], S, method="ols")
    with pytest.raises(ValueError, match="needs in-sample residuals"):
        reconcile(base, S, method="mint_shrink")
    with pytest.raises(ValueError, match="unknown reconciliation method"):
        reconcile(base, S, method="magic")

"""Partner segmentation: planted segments of the medium demo, determinism, edge cases, bad input."""
from __future__ import annotations

import logging
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from chanlib.analytics.segment import (
    PartnerSegmenter,
    SegmentSettings,
    partner_features,
    region_sizes,
    segment_frame,
    segment_partners,
)
from chanlib.analytics.segment.scaling import RobustScaler
from chanlib.build import ANALYSES, run_analyses
from chanlib.config import Params
from chanlib.data import store
from chanlib.errors import MissingInput
from chanlib.report import plots
from chanlib.report.narrative import profile_table, segment_sentence

log = logging.getLogger(__name__)
FEATURES = ["revenue", "growth", "volatility", "margin", "online_share", "recency_days", "target_attainment",
            "sell_through"]
#: the segmentation analyses a store build registers (each left out on its own when its input is absent)
SEGMENT_ANALYSES = ("segment_partners", "abc_xyz_partners", "abc_xyz_products", "customer_rfm")


@pytest.fixture(scope="module")
def medium(medium_demo: Path) -> Path:
    """The medium demo (seed 42) and its store: the session's, shared with the product-fit tests."""
    return medium_demo


@pytest.fixture(scope="module")
def medium_con(medium: Path):
    con = duckdb.connect(str(medium / "chanlib.duckdb"), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def medium_result(medium_con):
    return segment_partners(medium_con, SegmentSettings())


def _truth(medium: Path, index: pd.Index) -> pd.Series:
    return pd.read_csv(medium / "truth" / "partner_segments.csv").set_index("partner_id")["segment"].reindex(index)


@pytest.fixture(scope="module")
def medium_features(medium_con):
    return partner_features(medium_con, SegmentSettings())


def test_planted_segments_overlap_and_all_features_beat_any_one(medium: Path, medium_features) -> None:
    """The demo's segments differ by about one within-segment SD on several features at once: k-means (k = 4) on any
    single robust-scaled feature recovers little of them (ARI <= 0.5; 0.20 at best on this seed), all features
    together clearly more (0.29 on this seed; 0.27-0.37 over seeds 1-3 in bench/recovery.py, where the best single
    feature gets 0.17-0.19 and a classifier trained on the truth 0.51-0.54: about the ceiling these features allow)."""
    settings = SegmentSettings()
    X = medium_features.frame
    truth = _truth(medium, X.index)
    assert truth.notna().all() and len(X) == 600
    scaler = RobustScaler(settings.log_features, settings.min_scale).fit(X)
    Z = scaler.transform(X)
    single = {c: adjusted_rand_score(truth, KMeans(4, n_init=10, random_state=0).fit_predict(Z[:, [i]]))
              for i, c in enumerate(scaler.columns_)}
    log.info("single-feature ARIs: %s", {c: round(v, 3) for c, v in single.items()})
    assert len(single) >= 6 and max(single.values()) <= 0.5
    fixed = PartnerSegmenter(SegmentSettings(k_min=4, k_max=4)).fit(X)
    ari = adjusted_rand_score(truth, fixed.labels_)
    log.info("all features, k = 4: ARI %.3f", ari)
    assert ari >= 0.25 and ari >= max(single.values()) + 0.05
    # names come from the numbers: the planted behaviours show in the segment most of each planted segment is in
    # (the erratic partners, steady but for their month-to-month swings, are not found as a segment of their own)
    names = pd.Series(fixed.labels_, index=X.index).map(fixed.names_)
    majority = names.groupby(truth).agg(lambda s: s.mode()[0])
    assert "large" in majority["anchor"] and "high-margin" in majority["anchor"]
    assert "growing" in majority["rising"]
    assert "declining" in majority["declining"] and "overstocked" in majority["declining"]


def test_default_segments_on_overlapping_truth(medium: Path, medium_result) -> None:
    """With the defaults (k by silhouette) the overlapping segments are not found as four: k = 2 on this seed, which
    splits the declining partners (most of them) from the rest -- ARI 0.21 against the four planted segments."""
    truth = pd.read_csv(medium / "truth" / "partner_segments.csv")
    got = medium_result.partners.merge(truth, on="partner_id", how="inner")
    assert len(got) == len(truth) == 600
    ari = adjusted_rand_score(got["segment"], got["segment_id"])
    log.info("default segmentation: k = %d, ARI %.3f", medium_result.k, ari)
    assert 2 <= medium_result.k <= 8 and ari >= 0.15
    flagged = got["segment_name"].str.contains("declining")
    declining = got["segment"] == "declining"
    assert (flagged & declining).sum() >= 0.7 * declining.sum() and (flagged & declining).sum() >= 0.6 * flagged.sum()


def test_cli_frame_and_ids_ordered_by_revenue(medium_result) -> None:
    partners = medium_result.partners
    assert list(partners.columns) == ["partner_id", "segment_id", "segment_name", *FEATURES]
    assert partners["partner_id"].is_unique
    profiles = medium_result.profiles.set_index("segment_id")
    k = medium_result.k
    assert list(profiles.index) == list(range(1, k + 1))
    mean_revenue = partners.groupby("segment_id")["revenue"].mean()
    assert mean_revenue.is_monotonic_decreasing  # id 1 = biggest partners
    assert profiles["segment_name"].is_unique
    assert profiles["partners"].sum() == 600 and profiles["share"].sum() == pytest.approx(1.0)
    scores = medium_result.scores
    assert scores.loc[scores["chosen"], "k"].item() == k
    assert scores.loc[scores["chosen"], "score"].item() == scores["score"].max()


def test_deterministic_and_independent_of_row_order(medium_con, medium_result) -> None:
    settings = SegmentSettings()
    pf = partner_features(medium_con, settings)
    shuffled = pf.frame.sample(frac=1.0, random_state=7)
    again = segment_frame(shuffled, settings, pf.region)
    pd.testing.assert_frame_equal(again.partners.sort_values("partner_id").reset_index(drop=True),
                                  medium_result.partners.sort_values("partner_id").reset_index(drop=True))
    pd.testing.assert_frame_equal(again.profiles, medium_result.profiles)
    seg = PartnerSegmenter(settings).fit(shuffled)
    assert (seg.labels_ == seg.segments_.reindex(shuffled.index).to_numpy()).all()  # labels_ in input order


def test_gmm_on_overlapping_segments(medium: Path, medium_features) -> None:
    """The diagonal Gaussian mixture finds less of the overlapping segments than k-means (ARI 0.08 on this seed,
    k = 2 by silhouette), but more than chance (about 0 +- 0.003 for 600 partners)."""
    seg = PartnerSegmenter(SegmentSettings(method="gmm", k_max=6)).fit(medium_features.frame)
    ari = adjusted_rand_score(_truth(medium, seg.segments_.index), seg.segments_)
    log.info("gmm: k = %d, ARI %.3f", seg.k_, ari)
    assert ari >= 0.05


def test_report_data_and_charts(medium_con, medium_result) -> None:
    tables = medium_result.tables()
    seg = tables["segment_partners"]
    assert {"region", "pc1", "pc2"} <= set(seg.columns)
    sizes = region_sizes(seg, "North")
    assert sizes["partners"].sum() == (seg["region"] == "North").sum()
    assert sizes["revenue_share"].sum() == pytest.approx(1.0)
    assert "North has" in segment_sentence(sizes, "North")
    shown = profile_table(medium_result.profiles)
    assert {"Segment", "Name", "Partners", "Gross margin %, median", "Online share, mean"} <= set(shown.columns)
    assert shown["Growth, median"].str.match(r"^[+-]\d+\.\d%$").all()
    names = dict(zip(medium_result.profiles["segment_id"], medium_result.profiles["segment_name"]))
    _check_segment_charts(seg, sizes, "North")
    # the profile heat map: one row per segment, one column per feature, coloured and labelled with the deviation
    deviations = tables["segment_deviations"].set_index("segment_id").sort_index()
    ax = plots.segment_profile(tables["segment_deviations"], names).axes[0]
    mesh = ax.collections[0]
    values = deviations.to_numpy(dtype=float)
    np.testing.assert_allclose(np.ma.filled(mesh.get_array(), np.nan).reshape(values.shape), values, rtol=1e-12)
    assert [t.get_text() for t in ax.texts] == [f"{v:.1f}" for v in values.ravel() if np.isfinite(v)]
    assert [t.get_text() for t in ax.get_yticklabels()] == [f"{i} · {names[i]}" for i in deviations.index]
    assert len(ax.get_xticklabels()) == deviations.shape[1]
    limit = max(float(np.nanmax(np.abs(values))), 1.0)
    assert mesh.get_clim() == pytest.approx((-limit, limit))  # symmetric: white is "like all partners"


def _check_segment_charts(seg: pd.DataFrame, sizes: pd.DataFrame, region: str) -> None:
    """What segment_sizes and segment_map draw for ``region`` is the data: bar lengths and labels, the points."""
    ordered = sizes.sort_values("segment_id")
    ax = plots.segment_sizes(sizes).axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        f"{i} · {n}" for i, n in zip(ordered["segment_id"], ordered["segment_name"])]
    assert [p.get_width() for p in ax.patches] == ordered["partners"].tolist()
    assert all(p.get_x() == 0 for p in ax.patches) and ax.get_xlim()[0] == 0  # bars from zero
    assert ax.get_xlim()[1] > ordered["partners"].max()
    for text, partners, share in zip(ax.texts, ordered["partners"], ordered["revenue_share"]):
        assert text.get_text().startswith(str(partners)) and f"{share:.0%} of revenue" in text.get_text()
    # the map: the other regions' partners in one grey layer, then one layer per segment of the region's partners
    ax = plots.segment_map(seg, region).axes[0]
    drawn = {c.get_label(): np.asarray(c.get_offsets(), dtype=float) for c in ax.collections}
    expected = {}
    others = seg[seg["region"] != region]
    if len(others):
        expected["other regions"] = others[["pc1", "pc2"]].to_numpy()
    for (i, name), part in seg[seg["region"] == region].groupby(["segment_id", "segment_name"]):
        expected[f"{i} · {name} ({len(part)})"] = part[["pc1", "pc2"]].to_numpy()
    assert sorted(drawn) == sorted(expected)
    for label, points in expected.items():
        np.testing.assert_allclose(drawn[label], points, err_msg=label)
    assert sorted(t.get_text() for t in ax.get_legend().get_texts()) == sorted(expected)


def test_segment_results_kept_by_the_build(medium_con) -> None:
    assert set(SEGMENT_ANALYSES) <= {a.name for a in ANALYSES}
    names = ("segment_partners", "segment_profiles", "segment_deviations", "segment_scores", "abc_xyz_partners",
             "abc_xyz_products", "customer_rfm")
    assert all(store.has_result(medium_con, name) for name in names)
    assert not any("*" in store.omitted(medium_con, name) for name in SEGMENT_ANALYSES)  # none left out whole
    abc = store.read_result(medium_con, "abc_xyz_partners")
    assert set(abc["abc"]) == {"A", "B", "C"} and abc.groupby("region")["share"].sum().round(9).eq(1).all()
    rfm = store.read_result(medium_con, "customer_rfm")
    assert rfm["customer_id"].notna().all() and rfm[["r_score", "f_score", "m_score"]].isin(range(1, 6)).all().all()
    north = store.read_result(medium_con, "abc_xyz_products", region="North")
    assert len(north) and set(north["xyz"].dropna()) <= {"X", "Y", "Z"}


# -- small stores ------------------------------------------------------------------------------------------------

def _store(partners: dict[str, tuple[str, float, float]], days: int = 800) -> duckdb.DuckDBPyConnection:
    """A sales table with one row per partner and day: partner -> (region, level, yearly growth)."""
    con = duckdb.connect()
    rows = pd.DataFrame([(pid, reg, lvl, g) for pid, (reg, lvl, g) in partners.items()],
                        columns=["partner_id", "region", "level", "g"])
    con.register("p", rows)
    con.execute(f"""
        CREATE TABLE sales AS
        SELECT DATE '2023-01-01' + INTERVAL (d) DAY AS date, region, 'web' AS channel, partner_id,
               round(level * pow(1 + g, d / 365.0) * (1 + ((d * 7 + hash(partner_id) % 13) % 11) / 20.0), 2) AS revenue,
               round(level * 0.7, 2) AS cost
        FROM p, range({days}) t(d)
    """)
    return con


def test_single_partner_region() -> None:
    partners = {f"B{i:02d}": ("Big", 100.0 if i % 2 else 10.0, 0.1 if i % 3 else -0.3) for i in range(30)}
    partners["S01"] = ("Solo", 50.0, 0.0)
    con = _store(partners)
    result = segment_partners(con, SegmentSettings(k_max=5))
    seg = result.tables()["segment_partners"]
    sizes = region_sizes(seg, "Solo")
    assert len(sizes) == 1 and sizes["partners"].item() == 1 and sizes["revenue_share"].item() == 1.0
    assert "1 partner in 1 segment" in segment_sentence(sizes, "Solo")
    _check_segment_charts(seg, sizes, "Solo")
    # absent tables are left out with a reason, never zero-filled
    assert result.left_out["online_share"] == "the store has no channels table"
    assert result.left_out["target_attainment"] == "the store has no targets table"
    assert result.left_out["sell_through"] == "the sales table has no units column"
    assert "constant" in result.left_out["recency_days"]  # everyone sold on the last day: no information
    assert "online_share" not in result.partners.columns


def test_single_partner_overall() -> None:
    con = _store({"P1": ("Solo", 10.0, 0.0)})
    result = segment_partners(con)
    assert result.k == 1 and result.partners["segment_id"].tolist() == [1]
    assert result.partners["segment_name"].item() == "all partners"
    assert result.points[["pc1", "pc2"]].to_numpy().tolist() == [[0.0, 0.0]]


def test_new_partner_growth_rule() -> None:
    con = _store({"OLD": ("R", 10.0, 0.0), "NEW": ("R", 10.0, 0.0)})
    con.execute("DELETE FROM sales WHERE partner_id = 'NEW' AND date < DATE '2025-01-01'")  # joined 70 days ago
    pf = partner_features(con, SegmentSettings(growth_cap=3.0))
    assert pf.frame.loc["NEW", "growth"] == 3.0  # grew from nothing: the cap
    assert abs(pf.frame.loc["OLD", "growth"]) < 0.05
    assert pf.frame.loc["NEW", "revenue"] == pytest.approx(pf.frame.loc["OLD", "revenue"], rel=0.1)  # run rate
    assert np.isnan(pf.frame.loc["NEW", "volatility"])  # too few months to tell


def test_constant_features() -> None:
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"revenue": np.r_[rng.normal(1000, 20, 20), rng.normal(50, 2, 20)],
                      "margin": 0.3, "online_share": 0.0},
                     index=[f"P{i:02d}" for i in range(40)])
    seg = PartnerSegmenter(SegmentSettings(k_max=4)).fit(X)
    assert set(seg.dropped_) == {"margin", "online_share"} and "constant" in seg.dropped_["margin"]
    assert seg.k_ == 2 and seg.segments_.iloc[:20].eq(1).all()
    everything_constant = PartnerSegmenter().fit(X[["margin", "online_share"]])
    assert everything_constant.k_ == 1 and (everything_constant.labels_ == 1).all()


def test_names_unique_and_ids_stable_on_ties() -> None:
    X = pd.DataFrame({"growth": [0.0] * 10 + [0.5] * 10 + [1.0] * 10}, index=[f"P{i:02d}" for i in range(30)])
    seg = PartnerSegmenter(SegmentSettings(k_min=3, k_max=3)).fit(X)
    assert len(set(seg.names_.values())) == 3
    assert seg.segments_["P00"] == 1 and seg.segments_["P29"] == 3  # no revenue: by size, then centre


@pytest.mark.parametrize("frame, message", [
    (pd.DataFrame({"revenue": ["a", "b"]}, index=["P1", "P2"]), "not numeric"),
    (pd.DataFrame({"revenue": [1.0, 2.0]}, index=["P1", "P1"]), "duplicates"),
    (pd.DataFrame({"revenue": [1.0, np.inf]}, index=["P1", "P2"]), "infinite"),
    (pd.DataFrame({"revenue": []}), "no rows"),
    (pd.DataFrame({"growth": [-1.5, 0.2]}, index=["P1", "P2"]), "> -1"),
    ("not a frame", "expected a pandas DataFrame"),
])
def test_bad_features_raise_value_error(frame, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PartnerSegmenter().fit(frame)


def test_store_without_partners_raises() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE sales AS SELECT DATE '2024-01-01' AS date, 'R' AS region, 'web' AS channel, "
                "1.0 AS revenue")
    with pytest.raises(MissingInput, match="partner_id"):
        segment_partners(con)
    # the build leaves each segmentation out, with its reason, and keeps no result of it
    params = Params.model_validate({"tables": {"sales": {"path": "sales.csv"}}})
    omitted = run_analyses(con, params, analyses=tuple(a for a in ANALYSES if a.name in SEGMENT_ANALYSES))
    assert sorted(name for name, item, _ in omitted if item == "*") == sorted(SEGMENT_ANALYSES)
    assert not any(store.has_result(con, name) for name in SEGMENT_ANALYSES)
    con.execute("ALTER TABLE sales ADD COLUMN partner_id VARCHAR")  # the column, but no sale has a partner
    with pytest.raises(MissingInput, match="no sale has a partner_id"):
        partner_features(con)


def test_settings_errors() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="k_min"):
        SegmentSettings(k_min=5, k_max=3)
    with pytest.raises(ValidationError, match="bic"):
        SegmentSettings(criterion="bic")
    with pytest.raises(ValidationError, match="increasing"):
        SegmentSettings(abc_thresholds=[0.95, 0.8])
    with pytest.raises(ValidationError):
        SegmentSettings(unknown_key=1)

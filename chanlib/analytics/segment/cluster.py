"""Partner segmentation in scikit-learn estimator style: robust scaling, automatic k, stable ids, generated names.

:class:`PartnerSegmenter` fits on a feature frame (one row per partner, index = partner id, numeric columns):

1. :class:`~chanlib.analytics.segment.scaling.RobustScaler` (log1p of ``log_features``, median imputation, median/IQR
   scaling floored at ``min_scale``; features without spread are dropped, never crash the fit);
2. for each k in ``k_min..k_max`` (capped by the number of distinct partners) a k-means (k-means++ start,
   ``n_init`` restarts, Lloyd) or a diagonal-covariance Gaussian mixture; k is chosen by the mean silhouette on a
   seeded sample of ``silhouette_sample`` partners (highest; ties to the smaller k) or by BIC (lowest). With more
   than ``fit_sample`` partners the search runs on a seeded sample and only the chosen k is refit on everyone,
   started from the sample's centres. Plain k-means rather than mini-batch (exactly reproducible; the sample keeps
   it fast), in ``n_jobs`` threads (1 by default: on a busy machine OpenMP threads spin-waiting for cores make
   k-means many times slower);
3. stable ids: rows are sorted by partner id before fitting (so the order of the input does not matter) and
   segments are numbered 1.. by mean ``revenue`` descending (id 1 holds the biggest partners; by size when there is
   no revenue column), ties broken by the centres;
4. profiles and names from the centres' deviations from the whole (:mod:`chanlib.analytics.segment.naming`).

Fewer than three distinct partners, or no feature with spread, give a single segment.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from chanlib.config import SegmentSettings
>>> rng = np.random.default_rng(0)
>>> X = pd.DataFrame({"revenue": np.r_[rng.normal(1000, 50, 30), rng.normal(100, 5, 30)],
...                   "growth": np.r_[rng.normal(0.0, 0.02, 30), rng.normal(0.5, 0.02, 30)]},
...                  index=[f"P{i:02d}" for i in range(60)])
>>> seg = PartnerSegmenter(SegmentSettings(k_min=2, k_max=4)).fit(X)
>>> seg.k_, sorted(seg.names_.values())
(2, ['large, flat', 'small, growing'])
>>> int(seg.segments_["P00"]), int(seg.segments_["P59"])
(1, 2)
"""
from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from chanlib.analytics.segment.naming import name_segments
from chanlib.analytics.segment.scaling import RobustScaler, check_features
from chanlib.config import MEAN_FEATURES, SegmentSettings

log = logging.getLogger(__name__)

#: the feature that orders segment ids (descending); by size when absent
ORDER_BY = "revenue"
#: added to the GMM's variances (robust units), so a near-constant feature inside a cluster cannot dominate the BIC
GMM_REG_COVAR = 1e-3
#: features a profile shows as the segment mean (a share held by some partners and not others); others: median


class PartnerSegmenter:
    """Segment partners; see the module docstring. Fitted attributes end in ``_``.

    Attributes
    ----------
    k_ : number of segments chosen
    labels_ : segment id (1..k) per input row, in the input's row order
    segments_ : segment id per partner (Series indexed by partner id, sorted)
    centers_ : segment x feature means in robust units (DataFrame indexed by segment id)
    deviations_ : centres minus the mean of all partners, in robust units (what the names are made of)
    scores_ : criterion per tried k (Series indexed by k; silhouette: higher is better, bic: lower)
    names_ : {segment id: name}
    profiles_ : per segment id, name, partners, share of partners, revenue share (with a revenue column) and the
        median of each feature in its own units (the mean for :data:`chanlib.config.MEAN_FEATURES`)
    embedding_ : 2-D PCA of the scaled features per partner (DataFrame pc1, pc2 indexed by partner id)
    dropped_ : features left out of the clustering, with the reason
    """

    def __init__(self, settings: SegmentSettings | None = None):
        self.settings = settings or SegmentSettings()

    # -- fitting -------------------------------------------------------------------------------------------------
    def fit(self, features: pd.DataFrame) -> PartnerSegmenter:
        started = time.perf_counter()
        s = self.settings
        values = check_features(features)
        order = np.argsort(values.index.astype(str).to_numpy(), kind="stable")
        sorted_values = values.iloc[order]
        self.scaler_ = RobustScaler(s.log_features, s.min_scale).fit(sorted_values)
        self.dropped_ = dict(self.scaler_.dropped_)
        X = self.scaler_.transform(sorted_values)
        n_distinct = len(np.unique(X, axis=0)) if X.shape[1] else 1
        raw = self._fit_k(X, n_distinct)
        ids = self._stable_ids(raw, X, sorted_values)
        self.segments_ = pd.Series(ids, index=sorted_values.index, name="segment_id")
        self.labels_ = self.segments_.reindex(values.index).to_numpy()
        self.k_ = int(ids.max())
        self._describe(X, sorted_values)
        log.info("segmented %d partners into k=%d (%s, %s) in %.2f s", len(values), self.k_, s.method,
                 s.criterion, time.perf_counter() - started)
        return self

    def fit_predict(self, features: pd.DataFrame) -> np.ndarray:
        return self.fit(features).labels_

    def _candidates(self, n: int, n_distinct: int) -> list[int]:
        s = self.settings
        if s.criterion == "silhouette":  # silhouette needs 2 <= k <= n - 1
            top = min(s.k_max, n_distinct, n - 1)
            return list(range(max(2, s.k_min), top + 1))
        return list(range(s.k_min, min(s.k_max, n_distinct) + 1))

    def _model(self, k: int):
        from sklearn.cluster import KMeans  # scikit-learn when fitting: reading stored segments needs none of it
        from sklearn.mixture import GaussianMixture

        s = self.settings
        if s.method == "gmm":
            return GaussianMixture(n_components=k, covariance_type="diag", n_init=s.n_init, random_state=s.seed,
                                   reg_covar=GMM_REG_COVAR, max_iter=200)
        return KMeans(n_clusters=k, n_init=s.n_init, random_state=s.seed, algorithm="lloyd")

    def _fit_k(self, X: np.ndarray, n_distinct: int) -> np.ndarray:
        from sklearn.metrics import silhouette_score

        s = self.settings
        n = len(X)
        ks = self._candidates(n, n_distinct) if X.shape[1] else []
        if not ks:
            why = "no feature has any spread" if not X.shape[1] else f"only {n_distinct} distinct partner(s)"
            log.info("one segment: %s", why)
            self.scores_ = pd.Series(dtype="float64", name=s.criterion).rename_axis("k")
            return np.zeros(n, dtype=int)
        rng = np.random.default_rng(s.seed)
        fit_rows = np.sort(rng.choice(n, s.fit_sample, replace=False)) if n > s.fit_sample else None
        Xf = X if fit_rows is None else X[fit_rows]
        score_rows = None
        if s.criterion == "silhouette" and len(Xf) > s.silhouette_sample:
            score_rows = np.sort(rng.choice(len(Xf), s.silhouette_sample, replace=False))
        scores, models = {}, {}
        with threadpool_limits(s.n_jobs):
            for k in ks:
                model = self._model(k).fit(Xf)
                models[k] = model
                if s.criterion == "bic":
                    scores[k] = float(model.bic(Xf))
                else:
                    lab = model.predict(Xf) if s.method == "gmm" else model.labels_
                    xs, ls = (Xf, lab) if score_rows is None else (Xf[score_rows], lab[score_rows])
                    scores[k] = float(silhouette_score(xs, ls)) if len(np.unique(ls)) > 1 else -1.0
                log.debug("k=%d %s=%.4f", k, s.criterion, scores[k])
            self.scores_ = pd.Series(scores, name=s.criterion).rename_axis("k")
            best = max(ks, key=lambda k: (scores[k], -k)) if s.criterion == "silhouette" else \
                min(ks, key=lambda k: (scores[k], k))
            model = models[best]
            if fit_rows is not None:  # refit on every partner, from the sample's solution
                model = self._refit(model, best).fit(X)
            return model.predict(X) if s.method == "gmm" else model.labels_

    def _refit(self, model, k: int):
        from sklearn.cluster import KMeans
        from sklearn.mixture import GaussianMixture

        s = self.settings
        if s.method == "gmm":
            return GaussianMixture(n_components=k, covariance_type="diag", n_init=1, random_state=s.seed,
                                   reg_covar=GMM_REG_COVAR, max_iter=200, weights_init=model.weights_,
                                   means_init=model.means_, precisions_init=model.precisions_)
        return KMeans(n_clusters=k, init=model.cluster_centers_, n_init=1, random_state=s.seed, algorithm="lloyd")

    def _stable_ids(self, raw: np.ndarray, X: np.ndarray, values: pd.DataFrame) -> np.ndarray:
        """Renumber clusters 1..k by mean revenue descending (or size), ties by centre coordinates."""
        keys = []
        for c in np.unique(raw):
            mask = raw == c
            if ORDER_BY in values.columns and values.loc[mask, ORDER_BY].notna().any():
                primary = -float(values.loc[mask, ORDER_BY].mean())
            else:
                primary = -float(mask.sum())
            centre = tuple(np.round(X[mask].mean(axis=0), 9)) if X.shape[1] else ()
            keys.append((primary, centre, int(c)))
        mapping = {c: i + 1 for i, (_, _, c) in enumerate(sorted(keys))}
        return np.vectorize(mapping.get, otypes=[int])(raw)

    # -- description ---------------------------------------------------------------------------------------------
    def _describe(self, X: np.ndarray, values: pd.DataFrame) -> None:
        s = self.settings
        ids = self.segments_.to_numpy()
        columns = self.scaler_.columns_
        scaled = pd.DataFrame(X, index=values.index, columns=columns)
        self.centers_ = scaled.groupby(ids).mean().rename_axis("segment_id")
        self.deviations_ = self.centers_ - scaled.mean()
        self.names_ = {1: "all partners"}
        grouped = values.groupby(ids)
        typical = grouped.median()
        for column in MEAN_FEATURES.intersection(values.columns):
            typical[column] = grouped[column].mean()
        if self.k_ > 1:
            self.names_ = name_segments(self.deviations_, s.name_threshold, s.name_words, levels=typical)
        profiles = pd.DataFrame({"segment_name": pd.Series(self.names_), "partners": grouped.size()})
        profiles["share"] = profiles["partners"] / len(values)
        if ORDER_BY in values.columns and values[ORDER_BY].sum() > 0:
            profiles["revenue_share"] = grouped[ORDER_BY].sum() / values[ORDER_BY].sum()
        profiles = profiles.join(typical)
        self.profiles_ = profiles.rename_axis("segment_id").reset_index()
        self.embedding_ = self._embed(X, values.index)

    @staticmethod
    def _embed(X: np.ndarray, index: pd.Index) -> pd.DataFrame:
        from sklearn.decomposition import PCA

        coords = np.zeros((len(X), 2))
        if X.shape[1] >= 1 and len(X) >= 2:
            n_comp = min(2, X.shape[1], len(X))
            coords[:, :n_comp] = PCA(n_components=n_comp, svd_solver="full").fit_transform(X)
        return pd.DataFrame(coords, index=index, columns=["pc1", "pc2"])

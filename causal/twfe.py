"""Two-way fixed-effects regression computed exactly from per-cell sufficient statistics.

The regressors (treatment, event-time dummies, cell-level covariates) are constant within a unit × period cell, as
are the unit and period effects. By Frisch–Waugh–Lovell the row-level weighted regression of ``y`` on ``X`` and the
two sets of effects has the same coefficients as the cell-level regression of cell means on ``X`` weighted by the
cell weight ``sw``; its residual for row ``i`` of cell ``c`` is ``y_i - ȳ_c + e_c`` (``e_c`` the cell residual), so

* the residual sum of squares is ``Σ_c (swyy_c - swy_c²/sw_c) + Σ_c sw_c e_c²``,
* the heteroskedasticity-robust meat is ``Σ_c ẍ_c ẍ_c' (swwyy_c - 2 a_c swwy_c + a_c² sww_c)``, ``a_c = ȳ_c - e_c``,
* the score of cluster ``g`` is ``Σ_{c∈g} ẍ_c sw_c e_c`` (clusters contain whole cells),

with ``ẍ`` the two-way demeaned regressors. Small-sample corrections follow pyfixest 0.60 / fixest defaults
(``ssc(k_adj=True, k_fixef="nonnested", G_adj=True)``): iid ``(N-1)/(N-k)`` on ``σ² = RSS/(N-1)``, HC1 ``N/(N-k)``,
CRV1 ``(N-1)/(N-k) · G/(G-1)`` where ``k`` counts fixed effects not nested in the clusters; t tests use ``N - k``
degrees of freedom (``G - 1`` for cluster-robust ones).

The wild cluster bootstrap (restricted, WCR-11 in MacKinnon–Nielsen–Webb terms) is linear in the draw vector ``v``,
so its bootstrap t statistics are computed for all draws at once from ``G × G`` matrices (Roodman et al. 2019).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse as sp
from scipy import stats

from causal.errors import SpecError

BootWeights = Literal["rademacher", "webb"]
WEBB_POINTS = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])


class TwoWayDemeaner:
    """Weighted projection off unit and period effects at the cell level.

    The effect with more levels is removed by within-group means, the other by a small dense regression on its
    (within-demeaned) dummies, so the projection is exact (no iteration). Works for unbalanced panels.
    """

    def __init__(self, a: np.ndarray, b: np.ndarray, w: np.ndarray) -> None:
        na, nb = int(a.max()) + 1, int(b.max()) + 1
        if nb > na:
            a, b, na, nb = b, a, nb, na
        self.w = w
        self._A = sp.csr_matrix((np.ones(len(a)), (np.arange(len(a)), a)), shape=(len(a), na))
        self._aw = self._A.T @ w
        dummies = np.zeros((len(b), max(nb - 1, 0)))
        if nb > 1:
            dummies[np.arange(len(b))[b > 0], b[b > 0] - 1] = 1.0
        self._D = self._within(dummies)
        self._DtWD_pinv = np.linalg.pinv(self._D.T @ (self._D * w[:, None])) if nb > 1 else np.zeros((0, 0))

    def _within(self, z: np.ndarray) -> np.ndarray:
        zw = z * (self.w if z.ndim == 1 else self.w[:, None])
        means = (self._A.T @ zw) / (self._aw if z.ndim == 1 else self._aw[:, None])
        return z - self._A @ means

    def __call__(self, z: np.ndarray) -> np.ndarray:
        """Return ``z`` (shape ``(C,)`` or ``(C, m)``) with both effects projected out, weights ``w``."""
        z1 = self._within(np.asarray(z, float))
        if self._D.shape[1] == 0:
            return z1
        wz = z1 * (self.w if z1.ndim == 1 else self.w[:, None])
        return z1 - self._D @ (self._DtWD_pinv @ (self._D.T @ wz))


@dataclass(frozen=True, slots=True)
class TwfeFit:
    """A two-way fixed-effects fit from cell sufficient statistics.

    Attributes
    ----------
    names : tuple[str, ...]
        Regressor names (``k`` of them), the order of every array below.
    coef : numpy.ndarray
        Coefficients, shape ``(k,)``.
    vcov : dict[str, numpy.ndarray]
        ``"iid"``, ``"hc1"``, ``"crv1"`` covariance matrices, each ``(k, k)``, with pyfixest's corrections.
    df : dict[str, int]
        Degrees of freedom of the t tests for each covariance type.
    n_obs : int
        Rows behind the cells (N).
    n_clusters : int
        Number of clusters (G).
    df_k : dict[str, int]
        Parameters counted in the ``(N-1)/(N-k)`` correction, per covariance type.
    rss : float
        Weighted residual sum of squares of the row-level regression.
    xdd : numpy.ndarray
        Two-way demeaned regressors per cell, ``(C, k)``.
    bread : numpy.ndarray
        ``(Ẍ' W Ẍ)^{-1}``, ``(k, k)``.
    resid : numpy.ndarray
        Cell residuals ``e_c``, ``(C,)``.
    """

    names: tuple[str, ...]
    coef: np.ndarray
    vcov: dict[str, np.ndarray]
    df: dict[str, int]
    n_obs: int
    n_clusters: int
    df_k: dict[str, int]
    rss: float
    xdd: np.ndarray
    bread: np.ndarray
    resid: np.ndarray

    def se(self, kind: str) -> np.ndarray:
        """Standard errors for covariance type ``kind`` (``"iid"``, ``"hc1"``, ``"crv1"``)."""
        return np.sqrt(np.diag(self.vcov[kind]))


def _codes(x: np.ndarray) -> tuple[np.ndarray, int]:
    _, inv = np.unique(x, return_inverse=True)
    return inv.astype(np.int64), int(inv.max()) + 1


def _nested(fe: np.ndarray, cluster: np.ndarray) -> bool:
    """Whether every level of ``fe`` lies inside one cluster."""
    pairs = np.unique(np.stack([fe, cluster], axis=1), axis=0)
    return len(pairs) == len(np.unique(fe))


def fit_twfe(
    X: np.ndarray,
    names: tuple[str, ...],
    unit: np.ndarray,
    time: np.ndarray,
    cluster: np.ndarray,
    sums: dict[str, np.ndarray],
) -> TwfeFit:
    """Fit ``y ~ X | unit + time`` from cell sums; iid, HC1 and CRV1 covariances as pyfixest computes them.

    Parameters
    ----------
    X : numpy.ndarray
        Cell regressors, shape ``(C, k)``.
    names : tuple[str, ...]
        Names of the ``k`` regressors.
    unit, time, cluster : numpy.ndarray
        Integer codes (or any sortable ids) per cell, shape ``(C,)``.
    sums : dict
        Per-cell ``n, sw, swy, swyy, sww, swwy, swwyy`` (see :mod:`causal.panel`).

    Returns
    -------
    TwfeFit

    Raises
    ------
    SpecError
        A regressor is collinear with the fixed effects (e.g. no untreated cells).

    Examples
    --------
    >>> import numpy as np
    >>> u = np.array([0, 0, 1, 1, 2, 2]); t = np.array([0, 1, 0, 1, 0, 1]); d = np.array([0, 1, 0, 0, 0, 0.])
    >>> y = np.array([1.0, 3.0, 1.0, 1.5, 2.0, 2.5])
    >>> ones = np.ones(6)
    >>> s = dict(n=ones, sw=ones, swy=y, swyy=y**2, sww=ones, swwy=y, swwyy=y**2)
    >>> round(float(fit_twfe(d[:, None], ("d",), u, t, u, s).coef[0]), 6)
    1.5
    """
    X = np.asarray(X, float)
    k = X.shape[1]
    ucode, n_u = _codes(unit)
    tcode, n_t = _codes(time)
    gcode, G = _codes(cluster)
    sw = sums["sw"]
    ybar = sums["swy"] / sw
    M = TwoWayDemeaner(ucode, tcode, sw)
    xdd = M(X)
    ydd = M(ybar)
    xtwx = xdd.T @ (xdd * sw[:, None])
    scale = np.sqrt(np.maximum(np.diag(X.T @ (X * sw[:, None])), 1e-300))
    rel = np.diag(xtwx) / scale**2
    if np.any(rel < 1e-10):
        bad = [names[i] for i in np.flatnonzero(rel < 1e-10)]
        raise SpecError(
            f"regressor(s) {bad} are collinear with the unit and period effects (e.g. every unit treated at the same "
            "time with no untreated comparison cells); the data need untreated units or periods to compare against"
        )
    bread = np.linalg.inv(xtwx)
    coef = bread @ (xdd.T @ (sw * ydd))
    e = ydd - xdd @ coef
    within = np.maximum(sums["swyy"] - sums["swy"] ** 2 / sw, 0.0)
    rss = float(within.sum() + (sw * e**2).sum())
    N = int(round(float(sums["n"].sum())))
    k_fe_adj = n_u + n_t - 1
    df_k_full = k + k_fe_adj
    sigma2 = rss / (N - 1)
    a = ybar - e
    u2 = sums["swwyy"] - 2 * a * sums["swwy"] + a**2 * sums["sww"]
    meat_hc = xdd.T @ (xdd * u2[:, None])
    score_c = xdd * (sw * e)[:, None]
    Sg = np.zeros((G, k))
    np.add.at(Sg, gcode, score_c)
    meat_cl = Sg.T @ Sg
    nested = [(_nested(ucode, gcode), n_u), (_nested(tcode, gcode), n_t)]
    k_fe_nested = sum(n for flag, n in nested if flag)
    n_fully = sum(1 for flag, _ in nested if flag)
    df_k_crv = k + k_fe_adj - k_fe_nested + n_fully if k_fe_nested else df_k_full
    vcov = {
        "iid": bread * sigma2 * (N - 1) / (N - df_k_full),
        "hc1": bread @ meat_hc @ bread * N / (N - df_k_full),
        "crv1": bread @ meat_cl @ bread * (N - 1) / (N - df_k_crv) * (G / (G - 1) if G > 1 else np.nan),
    }
    df = {"iid": N - df_k_full, "hc1": N - df_k_full, "crv1": G - 1}
    return TwfeFit(names=tuple(names), coef=coef, vcov=vcov, df=df, n_obs=N, n_clusters=G,
                   df_k={"iid": df_k_full, "hc1": df_k_full, "crv1": df_k_crv}, rss=rss, xdd=xdd, bread=bread,
                   resid=e)


def t_inference(coef: float, se: float, df: int, alpha: float) -> tuple[float, tuple[float, float]]:
    """Two-sided p-value and ``1 - alpha`` interval from a t distribution with ``df`` degrees of freedom."""
    if not np.isfinite(se) or se <= 0 or df <= 0:
        return float("nan"), (float("nan"), float("nan"))
    t = coef / se
    p = float(2 * stats.t.sf(abs(t), df))
    q = float(stats.t.ppf(1 - alpha / 2, df))
    return p, (coef - q * se, coef + q * se)


@dataclass(frozen=True, slots=True)
class WildBootstrap:
    """Restricted wild cluster bootstrap (WCR) of one coefficient.

    Attributes
    ----------
    t_stat : float
        The CRV1 t statistic of the coefficient on the original data.
    p_value : float
        Share of bootstrap ``|t*|`` strictly above ``|t|`` (two-sided, as in ``wildboottest``).
    ci : tuple[float, float]
        Symmetric bootstrap-t interval ``coef ± q_{1-α}(|t*|) · se_CRV1``.
    t_boot : numpy.ndarray
        Bootstrap t statistics, shape ``(B,)``.
    weights : str
        ``"rademacher"`` or ``"webb"``.
    n_draws : int
        Number of bootstrap draws B.
    enumerated : bool
        True when all ``2^G`` Rademacher sign vectors were used (exact, no simulation noise).
    """

    t_stat: float
    p_value: float
    ci: tuple[float, float]
    t_boot: np.ndarray
    weights: str
    n_draws: int
    enumerated: bool


def wild_draws(G: int, B: int, weights: BootWeights, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """Draw matrix ``(G, B)`` of wild-bootstrap weights; all ``2^G`` sign vectors when that is at most ``B``."""
    if weights == "rademacher" and 2**G <= B:
        grid = ((np.arange(2**G)[None, :] >> np.arange(G)[:, None]) & 1).astype(float)
        return 2 * grid - 1, True
    if weights == "rademacher":
        return rng.choice(np.array([-1.0, 1.0]), size=(G, B)), False
    if weights == "webb":
        return rng.choice(WEBB_POINTS, size=(G, B)), False
    raise SpecError(f"bootstrap weights {weights!r} are not allowed; use one of 'rademacher', 'webb'")


def boot_t_matrices(
    X: np.ndarray, j: int, unit: np.ndarray, time: np.ndarray, cluster: np.ndarray, sums: dict[str, np.ndarray],
    fit: TwfeFit,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Return ``(s, K, adj)`` such that for draws ``v`` the bootstrap ``β*_j = s·v`` and ``V*_jj = adj·‖K v‖²``.

    The null ``β_j = 0`` is imposed: the restricted model drops regressor ``j``.
    """
    X = np.asarray(X, float)
    sw = sums["sw"]
    ucode, _ = _codes(unit)
    tcode, _ = _codes(time)
    gcode, G = _codes(cluster)
    M = TwoWayDemeaner(ucode, tcode, sw)
    ybar = sums["swy"] / sw
    ydd = M(ybar)
    keep = [i for i in range(X.shape[1]) if i != j]
    xr = fit.xdd[:, keep]
    if keep:
        br = np.linalg.solve(xr.T @ (xr * sw[:, None]), xr.T @ (sw * ydd))
        er = ydd - xr @ br
    else:
        er = ydd
    onehot = sp.csr_matrix((np.ones(len(gcode)), (np.arange(len(gcode)), gcode)), shape=(len(gcode), G))
    a_j = fit.bread[j]  # row j of (Ẍ'WẌ)^{-1}
    q = (fit.xdd @ a_j) * sw  # per-cell weight of the score of coefficient j
    # β*_j(v) = Σ_g v_g Σ_{c∈g} q_c er_c
    s = onehot.T @ (q * er)
    # bootstrap cell residuals e*(v) = R v, R = M(er ∘ 1_g) - Ẍ (Ẍ'WẌ)^{-1} Ẍ'W (er ∘ 1_g)
    E = M(onehot.multiply(er[:, None]).toarray())
    XtWE = fit.xdd.T @ (E * sw[:, None])  # (k, G)
    R = E - fit.xdd @ (fit.bread @ XtWE)
    K = onehot.T @ (R * q[:, None])  # (G, G): score of cluster h for draw v is (K v)_h
    adj = float(fit.vcov["crv1"][j, j] / (fit.bread[j] @ _meat(fit, gcode, sw) @ fit.bread[j]))
    return np.asarray(s).ravel(), np.asarray(K), adj


def _meat(fit: TwfeFit, gcode: np.ndarray, sw: np.ndarray) -> np.ndarray:
    k = fit.xdd.shape[1]
    Sg = np.zeros((int(gcode.max()) + 1, k))
    np.add.at(Sg, gcode, fit.xdd * (sw * fit.resid)[:, None])
    return Sg.T @ Sg


def wild_cluster_bootstrap(
    X: np.ndarray, j: int, unit: np.ndarray, time: np.ndarray, cluster: np.ndarray, sums: dict[str, np.ndarray],
    fit: TwfeFit, *, n_draws: int = 9999, weights: BootWeights = "rademacher", alpha: float = 0.05,
    rng: np.random.Generator | int | None = None,
) -> WildBootstrap:
    """Restricted wild cluster bootstrap-t of coefficient ``j`` on cell statistics (exact for the row regression).

    Examples
    --------
    >>> import numpy as np
    >>> g = np.repeat(np.arange(6), 2); t = np.tile([0, 1], 6); d = ((g < 2) & (t == 1)).astype(float)
    >>> y = np.array([1.0, 2.1, 0.5, 1.4, 1.0, 1.2, 2.0, 2.1, 0.0, 0.3, 1.0, 1.1])
    >>> one = np.ones(12); s = dict(n=one, sw=one, swy=y, swyy=y**2, sww=one, swwy=y, swwyy=y**2)
    >>> fit = fit_twfe(d[:, None], ("d",), g, t, g, s)
    >>> wb = wild_cluster_bootstrap(d[:, None], 0, g, t, g, s, fit, n_draws=999, rng=1)
    >>> wb.enumerated, wb.n_draws
    (True, 64)
    """
    if n_draws < 99:
        raise SpecError(f"n_boot={n_draws} is too few wild-bootstrap draws; use at least 99 (9999 is the default)")
    gen = np.random.default_rng(rng)
    s, K, adj = boot_t_matrices(X, j, unit, time, cluster, sums, fit)
    G = len(s)
    if G < 2:
        raise SpecError("the wild cluster bootstrap needs at least 2 clusters; found 1")
    V, enumerated = wild_draws(G, n_draws, weights, gen)
    beta_b = s @ V
    se_b = np.sqrt(adj * np.sum((K @ V) ** 2, axis=0))
    with np.errstate(divide="ignore", invalid="ignore"):
        t_b = beta_b / se_b
    se = float(np.sqrt(fit.vcov["crv1"][j, j]))
    t0 = float(fit.coef[j] / se)
    t_b = t_b[np.isfinite(t_b)]
    p = float(np.mean(np.abs(t_b) > abs(t0)))
    qs = float(np.quantile(np.abs(t_b), 1 - alpha))
    ci = (float(fit.coef[j] - qs * se), float(fit.coef[j] + qs * se))
    return WildBootstrap(t_stat=t0, p_value=p, ci=ci, t_boot=t_b, weights=weights, n_draws=int(V.shape[1]),
                         enumerated=enumerated)


def wald_test(coef: np.ndarray, vcov: np.ndarray, df: int | None) -> tuple[float, float, int]:
    """Joint Wald test that all ``coef`` are zero: ``(W/q, p, q)``; F(q, df) when ``df`` is given, else χ²(q)/q."""
    q = len(coef)
    if q == 0:
        return float("nan"), float("nan"), 0
    w = float(coef @ np.linalg.pinv(vcov) @ coef)
    if df is not None and df > 0:
        return w / q, float(stats.f.sf(w / q, q, df)), q
    return w / q, float(stats.chi2.sf(w, q)), q


@dataclass(frozen=True, slots=True)
class WildWald:
    """Restricted wild cluster bootstrap of a joint Wald test (e.g. all event-study leads are zero).

    Attributes
    ----------
    stat : float
        The CRV1 Wald statistic divided by the number of restrictions, on the original data.
    p_value : float
        Share of bootstrap statistics strictly above it.
    stat_boot : numpy.ndarray
        Bootstrap statistics, shape ``(B,)``.
    weights : str
        Bootstrap weights.
    n_draws : int
        Number of draws.
    enumerated : bool
        All ``2^G`` Rademacher sign vectors were used.
    """

    stat: float
    p_value: float
    stat_boot: np.ndarray
    weights: str
    n_draws: int
    enumerated: bool


def wild_wald_test(
    X: np.ndarray, idx: list[int], unit: np.ndarray, time: np.ndarray, cluster: np.ndarray,
    sums: dict[str, np.ndarray], fit: TwfeFit, *, n_draws: int = 9999, weights: BootWeights = "rademacher",
    rng: np.random.Generator | int | None = None, chunk: int = 2000, draws: np.ndarray | None = None,
) -> WildWald:
    """Wild cluster bootstrap (null imposed) of the CRV1 Wald test that the coefficients ``idx`` are all zero.

    The bootstrap coefficients and cluster scores are linear in the draw vector ``v`` (as in
    :func:`boot_t_matrices`), so every draw costs a few small matrix products. For one restriction the statistic
    is the square of the bootstrap t of :func:`wild_cluster_bootstrap`. ``draws`` (``(G, B)``, optional) replaces
    the random draws, e.g. to check single draws against refits.

    Examples
    --------
    >>> import numpy as np
    >>> g = np.repeat(np.arange(6), 3); t = np.tile([0, 1, 2], 6)
    >>> X = np.stack([((g < 2) & (t == 0)).astype(float), ((g < 2) & (t == 2)).astype(float)], axis=1)
    >>> y = np.random.default_rng(0).normal(size=18); one = np.ones(18)
    >>> s = dict(n=one, sw=one, swy=y, swyy=y**2, sww=one, swwy=y, swwyy=y**2)
    >>> fit = fit_twfe(X, ("lead", "lag"), g, t, g, s)
    >>> wild_wald_test(X, [0], g, t, g, s, fit, n_draws=999, rng=1).enumerated
    True
    """
    X = np.asarray(X, float)
    gen = np.random.default_rng(rng)
    sw = sums["sw"]
    ucode, _ = _codes(unit)
    tcode, _ = _codes(time)
    gcode, G = _codes(cluster)
    if G < 2:
        raise SpecError("the wild cluster bootstrap needs at least 2 clusters; found 1")
    M = TwoWayDemeaner(ucode, tcode, sw)
    ydd = M(sums["swy"] / sw)
    keep = [i for i in range(X.shape[1]) if i not in idx]
    xr = fit.xdd[:, keep]
    er = ydd - xr @ np.linalg.solve(xr.T @ (xr * sw[:, None]), xr.T @ (sw * ydd)) if keep else ydd
    onehot = sp.csr_matrix((np.ones(len(gcode)), (np.arange(len(gcode)), gcode)), shape=(len(gcode), G))
    Q = (fit.xdd @ fit.bread[idx].T) * sw[:, None]  # (C, q): cell weights of the restricted block's scores
    S = np.asarray(onehot.T @ (Q * er[:, None])).T  # (q, G): β*_idx(v) = S v
    E = M(onehot.multiply(er[:, None]).toarray())
    R = E - fit.xdd @ (fit.bread @ (fit.xdd.T @ (E * sw[:, None])))  # bootstrap cell residuals = R v
    K = np.stack([np.asarray(onehot.T @ (R * Q[:, [j]])) for j in range(len(idx))])  # (q, H, G)
    adj = float(fit.vcov["crv1"][idx[0], idx[0]] / (fit.bread[idx[0]] @ _meat(fit, gcode, sw) @ fit.bread[idx[0]]))
    b = fit.coef[idx]
    w0 = float(b @ np.linalg.solve(fit.vcov["crv1"][np.ix_(idx, idx)], b)) / len(idx)
    if draws is not None:
        V, enumerated = np.asarray(draws, float), False
    else:
        V, enumerated = wild_draws(G, n_draws, weights, gen)
    out = []
    for start in range(0, V.shape[1], chunk):
        v = V[:, start:start + chunk]
        beta = (S @ v).T  # (B, q)
        u = np.einsum("qhg,gb->bhq", K, v)  # (B, H, q) cluster scores
        vc = adj * np.einsum("bhq,bhr->bqr", u, u)
        try:
            sol = np.linalg.solve(vc, beta[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            sol = np.einsum("bqr,br->bq", np.linalg.pinv(vc), beta)
        out.append(np.einsum("bq,bq->b", beta, sol) / len(idx))
    stat_b = np.concatenate(out)
    if draws is None:
        stat_b = stat_b[np.isfinite(stat_b)]
    return WildWald(stat=w0, p_value=float(np.mean(stat_b > w0)), stat_boot=stat_b, weights=weights,
                    n_draws=int(V.shape[1]), enumerated=enumerated)

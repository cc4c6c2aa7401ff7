"""Scope: does an image look like a painting by one of the 50 artists the model knows?

Two signals from the model itself, fitted at training time and stored in the bundle (``scope.npz``):

- **painting-likeness**: minus the distance of the image's features from the training paintings'
  under a probabilistic PCA model of them (Tipping & Bishop): Mahalanobis distance along the top
  ``components`` principal axes of the standardised features, plus the distance outside them
  scaled by the variance left over. Photos, screenshots of text and flat colours land far away.
- **artist match**: the calibrated top probability of the head. A painting by another artist
  matches none of the 50 well.
- **their style, not another painter's** (when the bundle was trained with negatives, "outlier
  exposure"): a logistic regression on the same standardised features that tells the 50 artists'
  training paintings from other painters' (``../shared/data/other-artists``), all passed through
  the same re-encoding and degraded copies.

The scope score is a weighted mean of the signals, each standardised on validation paintings the head never
trained on (the style signal's weight ``OTHER_WEIGHT`` and its regularisation ``OTHER_C`` chosen on
artist-grouped cross-validation, ``benchmarks/experiments/cv_retrain.py``). Validation paintings stored smaller than
``CALIBRATION_MIN_SIDE`` (more-paintings-2's squashed 224 px copies) do not set the standardisation and the
thresholds: users upload paintings at full size, and the copies sat further inside the score, which kept only
92 % of full-size validation paintings. An image whose painting-likeness alone is below what 99 % of those
validation paintings reach is "not a painting" and out of scope whatever its match and style (the style signal
knows paintings only, and weighted 4 it let photos through); the threshold on the score keeps ``KEPT`` (95 %)
of the validation paintings in scope in all. An image out of scope but painting-like is "not one of the 50". A
blank image (one colour, whatever its score) is "not a painting" too: the flattest of the 1,739 real paintings
in ../shared/data has a luminance standard deviation of 5.7 grey levels, a flat colour under 1. Chosen in
``benchmarks/experiments/scope_candidates.py`` (docs/experiments.md §4d, §4g).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

SCOPE_FILE = "scope.npz"
COMPONENTS = 128  # principal axes of the training features that count as "painting-like"
KEPT = 0.95  # share of validation paintings kept in scope by the threshold
PAINTING_KEPT = 0.99  # share of validation paintings that pass the painting-likeness test alone
BLANK_BELOW = 2.0  # luminance standard deviation (grey levels of 255) under which an image is blank
MIN_FEATURE_SCALE = 1e-2  # floor on a feature's standard deviation (as the head's MIN_FEATURE_VARIANCE)
OTHER_WEIGHT = 4.0  # weight of the style signal beside painting-likeness and artist match (1 each)
OTHER_C = 0.001  # inverse L2 strength of the style signal's logistic regression
CALIBRATION_MIN_SIDE = 256  # validation paintings stored smaller (squashed 224 px copies) do not set the thresholds
NOT_A_PAINTING_GAP = 1.0  # how far below the threshold the score of a picture that is not a painting is held

NOT_A_PAINTING = "not a painting"
NOT_ONE_OF_THE_ARTISTS = "not one of the artists"


@dataclass
class Scope:
    """A fitted scope score: feature standardisation, principal axes and the validation statistics."""

    mean: np.ndarray  # (D,) mean of the training features
    scale: np.ndarray  # (D,) their standard deviation
    axes: np.ndarray  # (components, D) principal axes of the standardised training features
    variances: np.ndarray  # (components,) the training features' variance along each axis
    residual_variance: float  # their variance per dimension outside the axes
    likeness_stats: np.ndarray  # (2,) mean and standard deviation of painting-likeness on validation
    match_stats: np.ndarray  # (2,) the same for the top probability
    threshold: float  # scope score below which an image is out of scope
    painting_threshold: float  # painting-likeness below which an out-of-scope image is "not a painting"
    # the style signal (absent in bundles trained without negatives): weights on the standardised features
    other_weights: np.ndarray | None = None  # (D,)
    other_bias: float = 0.0
    other_stats: np.ndarray | None = None  # (2,) mean and standard deviation on validation
    other_weight: float = 0.0  # its weight in the scope score

    def likeness(self, features: np.ndarray) -> np.ndarray:
        """Minus the probabilistic-PCA distance of features from the training paintings' (in standard deviations)."""
        z = (np.asarray(features, np.float64) - self.mean) / self.scale
        # einsum, not BLAS: BLAS threads spin after a call and slowed the next TFLite call on 2 cores 2x
        along = np.einsum("nd,kd->nk", z, self.axes)
        outside = np.sum(np.square(z - np.einsum("nk,kd->nd", along, self.axes)), axis=-1)
        return -np.sqrt(np.sum(np.square(along) / self.variances, axis=-1) + outside / self.residual_variance)

    def style(self, features: np.ndarray) -> np.ndarray:
        """The style signal: log-odds that features are of one of the 50 artists' paintings rather than
        another painter's (zeros without negatives)."""
        if self.other_weights is None:
            return np.zeros(len(features))
        z = (np.asarray(features, np.float64) - self.mean) / self.scale
        return np.einsum("nd,d->n", z, self.other_weights) + self.other_bias

    def scores(self, features: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
        """Scope scores (higher: more like the 50 artists' paintings) of (N, D) features and (N, classes)
        probabilities; a picture that is not painting-like (``painting_threshold``) scores below the threshold,
        whatever its match and style."""
        likeness = self.likeness(features)
        return self._vetoed(self._combined(likeness, probabilities, self.style(features)), likeness)

    def _vetoed(self, combined: np.ndarray, likeness: np.ndarray) -> np.ndarray:
        """Scores held at least ``NOT_A_PAINTING_GAP`` below the threshold where painting-likeness alone says
        "not a painting": the style and match signals know paintings only, and can call a photo a painting."""
        return np.where(likeness >= self.painting_threshold, combined,
                        np.minimum(combined, self.threshold - NOT_A_PAINTING_GAP))

    def _combined(self, likeness: np.ndarray, probabilities: np.ndarray, style: np.ndarray) -> np.ndarray:
        """The scope score: painting-likeness, top probability and style, standardised on validation, weighted mean."""
        likeness = (likeness - self.likeness_stats[0]) / self.likeness_stats[1]
        match = (np.max(probabilities, axis=-1) - self.match_stats[0]) / self.match_stats[1]
        if self.other_stats is None or not self.other_weight:
            return (likeness + match) / 2
        style = (style - self.other_stats[0]) / self.other_stats[1]
        return (likeness + match + self.other_weight * style) / (2 + self.other_weight)

    def judge(self, features: np.ndarray, probabilities: np.ndarray,
              pixels: np.ndarray | None = None) -> tuple[float, bool, str | None]:
        """(scope score, in scope, why not) for one image's features and probabilities (and its RGB ``pixels``,
        the model's input, to tell a blank image)."""
        likeness = self.likeness(features[None])
        score = float(self._vetoed(self._combined(likeness, probabilities[None], self.style(features[None])),
                                   likeness)[0])
        likeness = float(likeness[0])
        if pixels is not None and is_blank(pixels):
            return score, False, NOT_A_PAINTING
        if score >= self.threshold:
            return score, True, None
        return score, False, NOT_ONE_OF_THE_ARTISTS if likeness >= self.painting_threshold else NOT_A_PAINTING

    def save(self, path: str | Path) -> None:
        style = {} if self.other_weights is None else {
            "other_weights": self.other_weights.astype(np.float32), "other_stats": self.other_stats,
            "other_bias_and_weight": np.array([self.other_bias, self.other_weight])}
        np.savez(path, mean=self.mean.astype(np.float32), scale=self.scale.astype(np.float32),
                 axes=self.axes.astype(np.float32), variances=self.variances,
                 residual_variance=np.array(self.residual_variance), likeness_stats=self.likeness_stats,
                 match_stats=self.match_stats, thresholds=np.array([self.threshold, self.painting_threshold]), **style)

    @classmethod
    def load(cls, path: str | Path) -> "Scope":
        with np.load(path, allow_pickle=False) as stored:
            arrays = {k: stored[k].astype(np.float64) for k in stored.files}
        threshold, painting_threshold = arrays.pop("thresholds")
        residual_variance = float(arrays.pop("residual_variance"))
        other_bias, other_weight = arrays.pop("other_bias_and_weight", (0.0, 0.0))
        return cls(**arrays, residual_variance=residual_variance, threshold=float(threshold),
                   painting_threshold=float(painting_threshold), other_bias=float(other_bias),
                   other_weight=float(other_weight))

    def summary(self) -> dict:
        """What the bundle's manifest says about the scope score."""
        style = (" + style against other painters' (logistic regression, weight "
                 f"{self.other_weight:g})" if self.other_weights is not None else "")
        return {"file": SCOPE_FILE, "method": f"probabilistic-PCA distance ({len(self.axes)} principal axes) + "
                f"top probability{style}, standardised on validation", "threshold": round(self.threshold, 6),
                "kept_on_validation": KEPT, "feature_dim": int(self.mean.shape[0])}


def is_blank(pixels: np.ndarray) -> bool:
    """Whether RGB ``pixels`` (H, W, 3, 0-255) are one flat colour: luminance varies less than ``BLANK_BELOW``."""
    rgb = np.asarray(pixels, np.float32)
    luminance = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
    return float(luminance.std()) < BLANK_BELOW


def fit_scope(train_features: np.ndarray, val_features: np.ndarray, val_probabilities: np.ndarray,
              components: int = COMPONENTS, negative_features: np.ndarray | None = None,
              other_weight: float = OTHER_WEIGHT, other_c: float = OTHER_C) -> Scope:
    """Fit the scope score: principal axes on the training paintings' features (every training variant),
    the style signal against ``negative_features`` (other painters' paintings, every training variant) when
    given, standardisation and thresholds on validation paintings the head did not train on."""
    train_features = np.asarray(train_features, np.float64)
    mean = train_features.mean(axis=0)
    scale = np.maximum(train_features.std(axis=0), MIN_FEATURE_SCALE)
    z = (train_features - mean) / scale
    components = min(components, len(z) // 2, z.shape[1] - 1)  # leave variance outside the axes to estimate
    _, singular, axes = np.linalg.svd(z, full_matrices=False)  # z is centred: these are the principal axes
    variances = np.square(singular[:components]) / len(z)
    residual_variance = max((z.var(axis=0).sum() - variances.sum()) / (z.shape[1] - components), 1e-6)
    as_stored = [np.asarray(a, np.float32).astype(np.float64) for a in (mean, scale, axes[:components])]
    scope = Scope(*as_stored, variances, float(residual_variance), np.array([0.0, 1.0]), np.array([0.0, 1.0]),
                  0.0, 0.0)
    if negative_features is not None and len(negative_features) and other_weight:
        scope.other_weights, scope.other_bias = _style_signal(scope, train_features, negative_features, other_c)
        style = scope.style(val_features)
        scope.other_stats, scope.other_weight = np.array([style.mean(), max(style.std(), 1e-6)]), float(other_weight)
    likeness = scope.likeness(val_features)
    match = np.max(val_probabilities, axis=-1)
    scope.likeness_stats = np.array([likeness.mean(), max(likeness.std(), 1e-6)])
    scope.match_stats = np.array([match.mean(), max(match.std(), 1e-6)])
    scope.painting_threshold = float(np.quantile(likeness, 1 - PAINTING_KEPT))
    combined = scope._combined(likeness, val_probabilities, scope.style(val_features))
    painting_like = likeness >= scope.painting_threshold
    # kept: painting-like and above the threshold, KEPT of the validation paintings in all
    scope.threshold = float(np.quantile(combined[painting_like], max(0.0, 1 - KEPT / painting_like.mean())))
    return scope


def _style_signal(scope: Scope, positives: np.ndarray, negatives: np.ndarray, c: float) -> tuple[np.ndarray, float]:
    """(weights, bias) of a class-balanced logistic regression telling ``positives`` (the 50 artists' training
    features) from ``negatives`` (other painters'), on the scope's standardised features."""
    from sklearn.linear_model import LogisticRegression  # training side only

    z = (np.concatenate([positives, negatives]) - scope.mean) / scope.scale
    y = np.r_[np.ones(len(positives)), np.zeros(len(negatives))]
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=500).fit(z.astype(np.float32), y)
    return model.coef_[0].astype(np.float32).astype(np.float64), float(model.intercept_[0])

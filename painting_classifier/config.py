"""Training configuration: one dataclass, defaults from the original student project."""
from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

BACKBONES = ("lite0", "lite2", "mobilenetv2", "efficientnetv2b0", "seed-cnn")
# Input size each backbone was trained at (the seed CNN used 256 px).
NATIVE_SIZE = {"lite0": 224, "lite2": 260, "mobilenetv2": 224, "efficientnetv2b0": 224, "seed-cnn": 256}


def default_cache_dir() -> Path:
    """Where backbone features and converted models are cached: $PAINTING_CLASSIFIER_CACHE or
    ~/.cache/painting_classifier."""
    env = os.environ.get("PAINTING_CLASSIFIER_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "painting_classifier"


@dataclass
class Config:
    """Everything that decides how a model is built and trained.

    Defaults reproduce the original project (batch 32, Adam 1e-4, 100 epochs,
    early stopping on val loss with patience 50, 80/20 train/validation) and add
    a held-out test split.
    """

    backbone: str = "lite0"
    weights: str = "imagenet"  # imagenet | none | path to a weights file
    view_size: int | None = None  # side of each view fed to the backbone; None = backbone's native size
    scales: list[int] = field(default_factory=lambda: [1])  # 1 = whole painting, k = k*k tiles at k-times resolution
    border: int = 0  # pixels cut from each side of the model's input before the views (frames, scan edges)
    style_stats: bool = False  # add channel means/stds of intermediate backbone stages to the pooled features
    pooled_features: bool = True  # the backbone's pooled top features; False: style statistics only (no top conv)
    head_units: int = 0  # hidden Dense layer in the head (0 = none, as in the original)
    dropout: float = 0.5
    head_l2: float = 0.0  # L2 penalty on the softmax layer's weights
    batch_size: int = 32
    learning_rate: float = 1e-4
    epochs: int = 100
    patience: int = 50
    label_smoothing: float = 0.0
    class_weights: bool = True
    augment: bool = False  # horizontal flips (and cached flipped features for the head)
    tta: bool = False  # average predictions over the painting and its mirror image
    refit: bool = False  # after choosing the epoch count on validation, retrain the head on train + validation
    calibrate: bool = False  # fit a softmax temperature on validation so that confidence matches accuracy
    fine_tune_epochs: int = 0
    fine_tune_layers: int = 20  # top backbone layers unfrozen in stage 2 (BatchNorm stays frozen)
    fine_tune_learning_rate: float = 1e-5
    val_fraction: float = 0.2  # of the paintings left after the test split
    test_fraction: float = 0.2
    seed: int = 42
    strategy: str = "default"  # default | mirrored | multi-worker

    @property
    def pretrained(self) -> bool:
        return self.backbone != "seed-cnn" and self.weights != "none"

    @property
    def view_side(self) -> int:
        return self.view_size or NATIVE_SIZE[self.backbone]

    @property
    def input_size(self) -> int:
        """Side of the square image the model takes (largest scale times the view size, plus the border)."""
        return max(self.scales) * self.view_side + 2 * self.border

    def validate(self) -> None:
        if self.backbone not in BACKBONES:
            raise ValueError(f"unknown backbone {self.backbone!r}; choose one of {', '.join(BACKBONES)}")
        if self.backbone == "seed-cnn" and self.scales != [1]:
            raise ValueError("the seed-cnn backbone takes the whole painting only (scales 1)")
        if not self.scales or any(s < 1 for s in self.scales) or len(set(self.scales)) != len(self.scales):
            raise ValueError(f"scales must be distinct positive integers, got {self.scales}")
        if not 0 <= self.test_fraction < 1 or not 0 <= self.val_fraction < 1:
            raise ValueError("test and validation fractions must lie in [0, 1)")
        if self.style_stats and not self.backbone.startswith("lite"):
            raise ValueError("style statistics are available for the EfficientNet-Lite backbones only")
        if not self.pooled_features and not self.style_stats:
            raise ValueError("without pooled features the model needs style statistics (style_stats)")
        if self.calibrate and (self.fine_tune_epochs or not self.pretrained):
            raise ValueError("calibration applies to the head stage only (pretrained backbone, no fine-tuning)")
        if self.refit and self.fine_tune_epochs:
            raise ValueError("refit applies to the head stage only; it cannot be combined with fine-tuning")
        if self.strategy not in ("default", "mirrored", "multi-worker"):
            raise ValueError(f"unknown strategy {self.strategy!r}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Config":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2))


# Named recipes; ``--recipe NAME`` starts from these values and explicit flags override them.
RECIPES: dict[str, dict] = {
    "original": {"backbone": "seed-cnn", "weights": "none"},
    # The shipped model: chosen on validation data (docs/experiments.md)
    "default": {
        "backbone": "lite0",
        "scales": [1, 2],
        "style_stats": True,
        "head_l2": 1e-2,
        "epochs": 300,
        "augment": True,
        "label_smoothing": 0.1,
        "refit": True,
        "calibrate": True,
    },
}


def recipe(name: str) -> Config:
    """Return the configuration of a named recipe."""
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; choose one of {', '.join(RECIPES)}")
    return Config.from_dict(RECIPES[name])

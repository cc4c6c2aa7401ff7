"""Training configuration: one dataclass, defaults from the original student project."""
from __future__ import annotations

import dataclasses
import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

BACKBONES = ("lite0", "lite2", "mobilenetv2", "efficientnetv2b0", "seed-cnn")
# Input size each backbone was trained at (the seed CNN used 256 px).
STRATEGIES = ("default", "mirrored", "multi-worker")
NATIVE_SIZE = {"lite0": 224, "lite2": 260, "mobilenetv2": 224, "efficientnetv2b0": 224, "seed-cnn": 256}
MAX_TUNED_BLOCKS = 5  # activations are cached below the top five blocks (Lite0's last two stages)
# options of earlier versions that no longer exist: a saved config that has them loads without a warning
RETIRED_OPTIONS = {"fine_tune_layers"}


def default_cache_dir() -> Path:
    """Where backbone features and converted models are cached: $PAINTING_CLASSIFIER_CACHE or
    ~/.cache/painting_classifier."""
    env = os.environ.get("PAINTING_CLASSIFIER_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "painting_classifier"


def option(default, help: str, **argparse_kwargs):
    """A Config field that is also a ``train`` command-line option: ``help`` is its help text and
    ``argparse_kwargs`` (e.g. ``choices``) go to argparse; the option's name, type and default come
    from the field itself."""
    metadata = {"help": help, **argparse_kwargs}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass
class Config:
    """Everything that decides how a model is built and trained.

    Defaults reproduce the original project (batch 32, Adam 1e-4, 100 epochs,
    early stopping on val loss with patience 50, 80/20 train/validation) and add
    a held-out test split. Each field is a ``train`` option (``cli.py`` derives them).
    """

    backbone: str = option("lite0", "feature extractor", choices=BACKBONES)
    weights: str = option("imagenet", "backbone weights: imagenet | none | a file (.pth for lite*, else Keras .h5)")
    view_size: int | None = option(None, "pixels per view the backbone sees (default: its native size)", type=int)
    scales: list[int] = option([1], "views, comma-separated: 1 = whole painting, k = k x k tiles at k-times resolution")
    border: int = option(0, "pixels cut from each side of the input before the views (frames, scan edges)", metavar="PX")
    style_stats: bool = option(False, "add style statistics (channel means/stds of intermediate stages); lite* only")
    pooled_features: bool = option(True, "pooled top features; --no-pooled-features: style statistics only")
    head_units: int = option(0, "hidden units in the classifier head (0 = none, as in the original)")
    dropout: float = option(0.5, "dropout before the softmax")
    head_l2: float = option(0.0, "L2 penalty on the softmax layer's weights")
    batch_size: int = option(32, "batch size", metavar="N")
    learning_rate: float = option(1e-4, "Adam learning rate")
    epochs: int = option(100, "maximum epochs", metavar="N")
    patience: int = option(50, "early-stopping patience on validation loss")
    label_smoothing: float = option(0.0, "label smoothing of the cross-entropy", metavar="X")
    class_weights: bool = option(True, "weight artists by total/(n_artists*count)")
    augment: bool = option(False, "train on mirrored paintings too (cached mirrored features for the head)")
    degraded_copies: int = option(0, "train on this many upload-like copies of each painting too (thumbnail, "
                                  "wall, detail, light, grayscale, JPEG; cached features)", metavar="N")
    recode: bool = option(False, "train on every painting re-encoded as other-artists is stored (at most 448 px, "
                          "JPEG quality 82), so size and compression tell no source apart")
    thumbnail_copies: bool = option(False, "train on a squashed 256 x 256, JPEG-50 thumbnail of every painting "
                                    "stored larger than that too, as the squashed copies of more-paintings-2 are")
    grayscale_copies: bool = option(False, "train on a black-and-white copy of every painting too")
    museum_copies: bool = option(False, "train on a copy of every painting photographed in a museum too (gilt frame, "
                                 "wall, visitors, a gallery's warm light, cut out as the search finds it)")
    tta: bool = option(False, "test-time augmentation: average with the mirror image")
    refit: bool = option(False, "retrain the head on train + validation for the epochs validation chose")
    calibrate: bool = option(False, "fit a softmax temperature on validation so probabilities match accuracy")
    fine_tune_blocks: int = option(0, "top blocks of the backbone trained with the head from the start, on cached "
                                   "activations (lite*; 0: the head alone, on cached features)", metavar="N")
    fine_tune_epochs: int = option(25, "most epochs of fine-tuning (each draws one training copy of every painting)",
                                   metavar="N")
    fine_tune_patience: int = option(3, "fine-tuning stops after this many epochs without a lower validation loss")
    fine_tune_learning_rate: float = option(1e-3, "the head's learning rate while fine-tuning")
    backbone_learning_rate_scale: float = option(0.1, "the tuned blocks' learning rate, as a share of the head's",
                                                 metavar="X")
    val_fraction: float = option(0.2, "validation share of the non-test paintings")
    test_fraction: float = option(0.2, "held-out test share per artist")
    seed: int = option(42, "seed of the split and the initial weights", metavar="N")
    duplicate_similarity: float = option(0.8, "paintings whose Lite0 embeddings are this similar (cosine) count as "
                                         "one near-duplicate group, kept on one side of the split; 0 = off")
    geometric_duplicates: bool = option(False, "also group paintings one of which is verified in the other by the "
                                        "recognition's geometric check (a detail and its whole, a squashed copy)")
    strategy: str = option("default", "tf.distribute: mirrored = GPUs/CPUs, multi-worker = $TF_CONFIG", choices=STRATEGIES)

    @property
    def pretrained(self) -> bool:
        return self.backbone != "seed-cnn" and self.weights != "none"

    @property
    def effective_view_size(self) -> int:
        """``view_size``, or the backbone's native size when it is not set."""
        return self.view_size or NATIVE_SIZE[self.backbone]

    @property
    def input_size(self) -> int:
        """Side of the square image the model takes (largest scale times the view size, plus the border)."""
        return max(self.scales) * self.effective_view_size + 2 * self.border

    def validate(self) -> None:
        if self.backbone not in BACKBONES:
            raise ValueError(f"unknown backbone {self.backbone!r}; choose one of {', '.join(BACKBONES)}")
        if self.backbone == "seed-cnn" and self.scales != [1]:
            raise ValueError("the seed-cnn backbone takes the whole painting only (scales 1)")
        if not self.scales or any(s < 1 for s in self.scales) or len(set(self.scales)) != len(self.scales):
            raise ValueError(f"scales must be distinct positive integers, got {self.scales}")
        if not 0 <= self.duplicate_similarity <= 1:
            raise ValueError("duplicate_similarity is a cosine similarity in [0, 1] (0 = off)")
        if not 0 <= self.test_fraction < 1 or not 0 <= self.val_fraction < 1:
            raise ValueError("test and validation fractions must lie in [0, 1)")
        if self.style_stats and not self.backbone.startswith("lite"):
            raise ValueError("style statistics are available for the EfficientNet-Lite backbones only")
        if not self.pooled_features and not self.style_stats:
            raise ValueError("without pooled features the model needs style statistics (style_stats)")
        if self.calibrate and not self.pretrained:
            raise ValueError("calibration applies to a pretrained backbone's head")
        if self.fine_tune_blocks and not (self.backbone.startswith("lite") and self.pretrained):
            raise ValueError("fine-tuning on cached activations needs a pretrained EfficientNet-Lite backbone")
        if not 0 <= self.fine_tune_blocks <= MAX_TUNED_BLOCKS:
            raise ValueError(f"fine_tune_blocks is 0 to {MAX_TUNED_BLOCKS} (the activations are cached below those)")
        if self.strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {self.strategy!r}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Config":
        """A Config from saved values; keys this version does not know are reported and ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names - RETIRED_OPTIONS)
        if unknown:
            warnings.warn(f"ignoring configuration keys this version does not know: {', '.join(unknown)} "
                          "(saved by a newer version?)", stacklevel=2)
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
        "degraded_copies": 1,
        "recode": True,
        "thumbnail_copies": True,
        "grayscale_copies": True,
        "museum_copies": True,
        "label_smoothing": 0.1,
        "geometric_duplicates": True,  # a detail and its whole, verified by the recognition's check, split together
        "refit": True,
        "calibrate": True,
    },
}


def recipe(name: str) -> Config:
    """Return the configuration of a named recipe."""
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; choose one of {', '.join(RECIPES)}")
    return Config.from_dict(RECIPES[name])

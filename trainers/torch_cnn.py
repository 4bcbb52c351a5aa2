"""``TorchCNNTrainer``: a small convolutional network on digits' 8×8 images.

The report's MLP sees a digit as 64 unrelated numbers; a convolutional network sees the
image. Each row's 64 standardised features are reshaped to one 1×8×8 channel; then, for
each width in ``channels``, a convolution (odd ``kernel_size``, "same" padding), the
activation and 2×2 max pooling (while the image is at least 2×2: 8 → 4 → 2 → 1); then
dropout, a dense layer of ``hidden`` units with the activation, dropout, and the softmax
output. Trained with cross-entropy and the report's L2 penalty ½λ‖W‖²_F on the weights
(kernels and dense weights, not biases), behind the same trainer contract, generator and
exact save/restore as :class:`~trainers.torch_mlp.TorchMLPTrainer`.

Hyperparameters and defaults: ``channels`` (16, 32), ``kernel_size`` 3, ``activation``
relu (or tanh, elu, leaky_relu, logistic), ``dropout`` 0.0, ``hidden`` 64, ``solver`` adam
(or sgd, with Nesterov momentum), ``learning_rate_init`` 1e-3, ``alpha`` 1e-4,
``batch_size`` auto (min(200, n)), ``momentum`` 0.9.
"""

from __future__ import annotations

try:
    import torch
except ImportError:  # one line for the CLI's `--trainer trainers.torch_cnn:TorchCNNTrainer`
    raise ImportError("trainers.torch_cnn needs PyTorch: pip install -e '.[torch]'") from None

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from torch import nn
from torch.nn import functional as F
from torch.nn.utils import skip_init

from trainers._checks import (
    bad_value,
    check_batch_size,
    check_choice,
    check_numbers,
    is_int,
    with_defaults,
)
from trainers._torch import TorchTrainer
from trainers._torch_layers import dropout, init_layer, make_activation
from trainers.data import Dataset

__all__ = ["CNN", "CNN_DEFAULTS", "TorchCNNTrainer", "resolve_cnn_config"]

#: The image a row of 64 features is: one channel of 8×8 pixels (scikit-learn's digits).
IMAGE = (1, 8, 8)

CNN_ACTIVATIONS = ("relu", "tanh", "elu", "leaky_relu", "logistic")
CNN_SOLVERS = ("sgd", "adam")

#: Hyperparameters of the CNN and their defaults.
CNN_DEFAULTS: dict[str, Any] = {
    "channels": (16, 32),
    "kernel_size": 3,
    "activation": "relu",
    "dropout": 0.0,
    "hidden": 64,
    "solver": "adam",
    "learning_rate_init": 1e-3,
    "alpha": 1e-4,
    "batch_size": "auto",
    "momentum": 0.9,
}

#: The numeric hyperparameters: each a finite number that passes its test.
CNN_NUMBERS: dict[str, tuple[Callable[[float], bool], str]] = {
    "dropout": (lambda v: 0 <= v < 1, "a rate in [0, 1)"),
    "learning_rate_init": (lambda v: v > 0, "a number > 0"),
    "alpha": (lambda v: v >= 0, "a number >= 0"),
    "momentum": (lambda v: 0 <= v <= 1, "a number in [0, 1]"),
}


def resolve_cnn_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults filled in and every value checked; raises ValueError naming the key.

    >>> resolve_cnn_config({"channels": 8})["channels"]
    (8,)
    """
    c = with_defaults(config, CNN_DEFAULTS, "TorchCNNTrainer")
    channels = c["channels"]
    if is_int(channels):
        channels = (channels,)
    try:
        ok = len(channels) >= 1 and all(is_int(w) and w >= 1 for w in channels)
    except TypeError:
        ok = False
    if not ok:
        raise bad_value("channels", c["channels"], "one or more positive channel counts")
    c["channels"] = tuple(int(w) for w in channels)
    k = c["kernel_size"]
    if not (is_int(k) and 1 <= k < IMAGE[1] and k % 2 == 1):  # odd: "same" padding is symmetric
        raise bad_value("kernel_size", k, "an odd integer from 1 to 7")
    c["kernel_size"] = int(k)
    if not (is_int(c["hidden"]) and c["hidden"] >= 1):
        raise bad_value("hidden", c["hidden"], "a positive integer (the dense layer's width)")
    c["hidden"] = int(c["hidden"])
    check_choice(c, "activation", CNN_ACTIVATIONS)
    check_choice(c, "solver", CNN_SOLVERS)
    check_batch_size(c)
    check_numbers(c, CNN_NUMBERS)
    return c


class CNN(nn.Module):
    """Convolution blocks, then a dense hidden layer and the output layer (see the module
    docstring); inputs are ``n × 1 × 8 × 8``."""

    def __init__(
        self,
        channels: tuple[int, ...],
        kernel_size: int,
        activation: str,
        rate: float,
        hidden: int,
        n_outputs: int,
        factory: Mapping[str, Any],
    ) -> None:
        super().__init__()
        # skip_init: the layers' own initialisation would draw from the global RNG.
        convs, pools, size, before = [], [], IMAGE[1], IMAGE[0]
        for width in channels:
            convs.append(
                skip_init(nn.Conv2d, before, width, kernel_size, padding="same", **factory)
            )
            pools.append(size >= 2)
            size, before = (size // 2 if size >= 2 else size), width
        self.convs = nn.ModuleList(convs)
        self.pools = tuple(pools)
        self.dense = skip_init(nn.Linear, before * size * size, hidden, **factory)
        self.out = skip_init(nn.Linear, hidden, n_outputs, **factory)
        self.act = make_activation(activation)
        self.activation, self.rate = activation, rate
        self.generator: torch.Generator | None = None  # the trainer's, for dropout masks

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv, pool in zip(self.convs, self.pools, strict=True):
            x = self.act(conv(x))
            if pool:
                x = F.max_pool2d(x, 2)
        x = x.flatten(1)
        drop = self.rate and self.training
        if drop:
            x = dropout(x, self.rate, self.generator)  # type: ignore[arg-type]
        x = self.act(self.dense(x))
        if drop:
            x = dropout(x, self.rate, self.generator)  # type: ignore[arg-type]
        return self.out(x)

    def initialise(self, generator: torch.Generator) -> None:
        """He for the ReLU family, Glorot otherwise; the output layer Glorot (as the MLP)."""
        layers = [*self.convs, self.dense, self.out]
        for i, layer in enumerate(layers):
            last = i == len(layers) - 1
            init_layer(layer.weight, layer.bias, "auto", self.activation, last, generator)

    def penalised(self) -> list[nn.Parameter]:
        """The kernels and dense weights: what ``½λ‖W‖²_F`` acts on."""
        return [m.weight for m in (*self.convs, self.dense, self.out)]


class TorchCNNTrainer(TorchTrainer):
    """A small CNN on 8×8 images (digits), an epoch at a time; same contract and
    constructor as :class:`~trainers.torch_mlp.TorchMLPTrainer`.

    Raises:
        ValueError: a dataset whose rows are not 64 features (8×8 images), or a
            regression target.

    >>> t = TorchCNNTrainer("digits", device="cpu")
    >>> t.setup({"channels": [4], "hidden": 16}, seed=0)
    >>> sorted(t.step())
    ['lr', 'train_loss', 'val_accuracy', 'val_loss']
    """

    name = "TorchCNNTrainer"

    def _check_data(self, data: Dataset) -> None:
        pixels = math.prod(IMAGE)
        if data.n_features != pixels:
            raise ValueError(
                f"TorchCNNTrainer needs 8×8 images, {pixels} features per row (as digits); "
                f"dataset {data.name!r} has {data.n_features}"
            )
        if data.task == "regression":
            raise ValueError(
                f"TorchCNNTrainer classifies; dataset {data.name!r} has a numeric target"
            )

    def _inputs(self, X: np.ndarray) -> np.ndarray:
        return X.reshape(len(X), *IMAGE)

    def _resolve(self, config: Mapping[str, Any]) -> dict[str, Any]:
        return resolve_cnn_config(config)

    def _build(self, c: dict[str, Any]) -> nn.Module:
        model = CNN(
            c["channels"], c["kernel_size"], c["activation"], c["dropout"], c["hidden"],
            self.data.n_outputs, self._factory(),
        )  # fmt: skip
        model.initialise(self.gen)
        return model

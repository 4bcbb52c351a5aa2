"""The multilayer perceptron of the original report, written from scratch in numpy.

Network and backpropagation (report §1–2) in :mod:`._network`, the activations of §1.3.2
in :mod:`._activations`, the gradient methods in :mod:`._optim`, the hyperparameters in
:mod:`._config`, and the trainer contract in :mod:`._trainer` (its epoch loop is
:mod:`trainers._epochs`, shared with the PyTorch trainers).
"""

from trainers.mlp._activations import ACTIVATIONS, Activation, make_activation
from trainers.mlp._config import DEFAULTS, resolve_config
from trainers.mlp._network import Network
from trainers.mlp._optim import LBFGS, SGD, Adam
from trainers.mlp._trainer import MLPTrainer

__all__ = [
    "ACTIVATIONS",
    "DEFAULTS",
    "LBFGS",
    "SGD",
    "Activation",
    "Adam",
    "MLPTrainer",
    "Network",
    "make_activation",
    "resolve_config",
]

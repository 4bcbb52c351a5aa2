"""The PyTorch trainers: the contract, exact resume, the numpy MLP's semantics, bad input,
a missing PyTorch, and real searches through the CLI. CPU only, tiny networks."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tests.conftest import ROOT, hpo  # noqa: E402
from trainers.data import load_dataset  # noqa: E402
from trainers.mlp import ACTIVATIONS, MLPTrainer  # noqa: E402
from trainers.torch_cnn import TorchCNNTrainer  # noqa: E402
from trainers.torch_mlp import TorchMLPTrainer  # noqa: E402

TINY_CNN = {"channels": [4], "hidden": 16, "batch_size": 64}


@pytest.fixture(scope="module")
def iris():
    return load_dataset("iris")


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def run(trainer, epochs: int) -> list[dict[str, float]]:
    return [trainer.step() for _ in range(epochs)]


def tensors(value):
    """Every tensor in a nested state."""
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from tensors(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from tensors(v)


# -- the contract -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_torch_trainer_step_reports_the_contract_metrics(kind, iris, digits) -> None:
    if kind == "mlp":
        trainer, config = TorchMLPTrainer(iris, device="cpu"), {"hidden_layer_sizes": [8]}
    else:
        trainer, config = TorchCNNTrainer(digits, device="cpu"), TINY_CNN
    trainer.setup(config, seed=0)
    metrics = trainer.step()
    assert {"train_loss", "val_loss", "val_accuracy", "lr"} <= set(metrics)
    assert all(isinstance(v, float) for v in metrics.values())
    assert 0.0 <= metrics["val_accuracy"] <= 1.0
    assert trainer.predict(trainer.data.X_test).shape == trainer.data.y_test.shape
    np.testing.assert_allclose(
        trainer.predict_proba(trainer.data.X_val).sum(axis=1), 1.0, rtol=1e-5
    )


def test_torch_trainer_defaults_to_cuda_when_available_and_one_thread(iris) -> None:
    trainer = TorchMLPTrainer(iris)
    assert trainer.device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert torch.get_num_threads() == 1


def test_torch_trainer_step_before_setup_is_an_error(iris) -> None:
    with pytest.raises(RuntimeError, match="setup"):
        TorchMLPTrainer(iris, device="cpu").step()


MLP_RESUME = {
    "sgd": {"solver": "sgd", "learning_rate": "invscaling", "learning_rate_init": 0.05},
    "sgd-adaptive": {"solver": "sgd", "learning_rate": "adaptive", "n_iter_no_change": 1,
                     "tol": 10.0, "nesterovs_momentum": False},
    "adam": {"solver": "adam", "activation": "prelu"},
    "lbfgs": {"solver": "lbfgs", "activation": "tanh"},
    "dropout-batchnorm": {"solver": "adam", "dropout": [0.3, 0.1], "normalization": "batch",
                          "batch_size": 89},  # a last batch of one row
    "layernorm-residual": {"solver": "sgd", "hidden_layer_sizes": [8, 8, 8],
                           "normalization": "layer", "residual": True, "init": "orthogonal"},
    "early-stopping": {"solver": "adam", "early_stopping": True, "n_iter_no_change": 1,
                       "tol": 0.5},
}  # fmt: skip
CNN_RESUME = {
    "cnn-sgd": {**TINY_CNN, "solver": "sgd", "dropout": 0.2, "learning_rate_init": 0.05},
    "cnn-adam": {**TINY_CNN, "solver": "adam", "activation": "elu", "channels": [4, 4]},
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", [*MLP_RESUME, *CNN_RESUME])
def test_torch_restore_continues_bitwise_like_an_uninterrupted_run(
    name, dtype, iris, digits
) -> None:
    """Paused after epochs 1 and 3, restored each time into a fresh trainer from a pickled
    state: the six epochs' metrics and the final weights equal an uninterrupted run's."""
    if name in MLP_RESUME:
        cls, data = TorchMLPTrainer, iris
        config = {"hidden_layer_sizes": [16, 8], "batch_size": 32, "alpha": 1e-3,
                  **MLP_RESUME[name]}  # fmt: skip
    else:
        cls, data, config = TorchCNNTrainer, digits, CNN_RESUME[name]
    straight = cls(data, dtype=dtype, device="cpu")
    straight.setup(config, seed=3)
    expected = run(straight, 6)

    trainer = cls(data, dtype=dtype, device="cpu")
    trainer.setup(config, seed=3)
    got = []
    for until in (1, 3, 6):
        got += run(trainer, until - len(got))
        if until < 6:
            state = pickle.loads(pickle.dumps(trainer.save()))
            assert all(t.device.type == "cpu" for t in tensors(state))
            trainer = cls(data, dtype=dtype, device="cpu")
            trainer.restore(state)

    assert got == expected
    for a, b in zip(trainer.model.state_dict().values(), straight.model.state_dict().values(),
                    strict=True):  # fmt: skip
        assert torch.equal(a, b)
    assert trainer.epoch == straight.epoch == 6


def test_torch_saved_state_does_not_change_as_training_goes_on(iris) -> None:
    trainer = TorchMLPTrainer(iris, device="cpu")
    trainer.setup({"hidden_layer_sizes": [8], "solver": "adam"}, seed=0)
    run(trainer, 2)
    state = trainer.save()
    frozen = pickle.dumps(state)
    restored = TorchMLPTrainer(iris, device="cpu")
    restored.restore(state)
    run(trainer, 2)
    run(restored, 2)
    assert pickle.dumps(state) == frozen


def test_torch_same_seed_same_curve_and_the_global_rng_is_untouched(iris) -> None:
    torch_state, np_state = torch.random.get_rng_state(), np.random.get_state()[1].copy()
    curves = []
    for seed in (1, 1, 2):
        t = TorchMLPTrainer(iris, device="cpu")
        t.setup({"hidden_layer_sizes": [10], "dropout": 0.2}, seed=seed)
        curves.append(run(t, 3))
    assert curves[0] == curves[1]
    assert curves[0] != curves[2]
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], np_state)


# -- the numpy trainer's semantics ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "tolerance"),
    [
        ({"solver": "sgd", "learning_rate": "invscaling", "learning_rate_init": 0.1}, 1e-12),
        (
            {
                "solver": "sgd",
                "learning_rate": "adaptive",
                "tol": 10.0,
                "n_iter_no_change": 1,
                "learning_rate_init": 0.1,
                "nesterovs_momentum": False,
            },
            1e-12,
        ),
        ({"solver": "sgd", "normalization": "batch", "hidden_layer_sizes": [8, 8]}, 1e-12),
        ({"solver": "lbfgs", "activation": "softplus"}, 1e-10),
        # torch's Adam adds ε after the bias correction, scikit-learn's before.
        ({"solver": "adam", "activation": "prelu", "normalization": "layer"}, 1e-5),
    ],
    ids=["sgd-invscaling", "sgd-adaptive", "sgd-batchnorm", "lbfgs", "adam"],
)
def test_torch_mlp_trains_the_numpy_mlp_from_the_same_weights(iris, config, tolerance) -> None:
    """Full batches (so that shuffling cannot differ), float64, the numpy network's initial
    weights copied in: the same curves, L2 penalty ½λ‖W‖², schedules and momentum included
    (adam within torch's placement of ε)."""
    config = {"hidden_layer_sizes": [16], "batch_size": 200, "alpha": 0.05, **config}
    ours = MLPTrainer(iris, dtype="float64")
    ours.setup(config, seed=0)
    theirs = TorchMLPTrainer(iris, dtype="float64", device="cpu")
    theirs.setup(config, seed=0)
    with torch.no_grad():
        for linear, layer in zip(theirs.model.linears, ours.net.layers, strict=True):
            linear.weight.copy_(torch.from_numpy(layer.W))
            linear.bias.copy_(torch.from_numpy(layer.b))
    # lbfgs: while both line searches take the first trial step (see torch_mlp's docstring).
    epochs = 4 if config["solver"] == "lbfgs" else 8
    for a, b in zip(run(ours, epochs), run(theirs, epochs), strict=True):
        for key in ("train_loss", "val_loss", "val_accuracy"):
            assert b[key] == pytest.approx(a[key], rel=tolerance, abs=tolerance), key
        assert b["lr"] == pytest.approx(a["lr"], rel=1e-12, nan_ok=True)


def test_torch_batch_norm_takes_a_batch_of_one_row_as_the_numpy_network() -> None:
    from trainers.torch_mlp import BatchNorm

    norm = BatchNorm(3)
    with torch.no_grad():
        norm.bias.copy_(torch.tensor([1.0, 2.0, 3.0]))
    x = torch.tensor([[5.0, -1.0, 0.5]], requires_grad=True)
    out = norm(x)
    out.sum().backward()
    assert torch.equal(out.detach(), norm.bias.detach()[None])
    assert torch.equal(x.grad, torch.zeros(1, 3)) and torch.equal(norm.weight.grad, torch.zeros(3))
    assert torch.equal(norm.running_mean, 0.1 * x.detach()[0])
    assert torch.equal(norm.running_var, torch.full((3,), 0.9))


def test_torch_penalty_is_half_lambda_frobenius_on_weights_only(iris) -> None:
    trainer = TorchMLPTrainer(iris, dtype="float64", device="cpu")
    trainer.setup({"alpha": 2.0, "hidden_layer_sizes": [8, 4], "activation": "prelu"}, seed=0)
    weights = [lin.weight for lin in trainer.model.linears]
    expected = 0.5 * 2.0 * sum(float((w.detach() ** 2).sum()) for w in weights)
    assert trainer._penalty() == pytest.approx(expected)
    decay = {id(p): g["weight_decay"] for g in trainer.opt.param_groups for p in g["params"]}
    for name, p in trainer.model.named_parameters():
        assert decay[id(p)] == (2.0 if name.endswith("weight") and "linears" in name else 0.0), name


@pytest.mark.parametrize(
    ("activation", "init", "hidden_bound", "hidden_bias_zero"),
    [
        ("relu", "auto", np.sqrt(6 / 4), True),  # He for the ReLU family
        ("tanh", "auto", np.sqrt(6 / (4 + 50)), False),  # Glorot
        ("logistic", "glorot", np.sqrt(2 / (4 + 50)), False),  # scikit-learn's factor 2
        ("tanh", "lecun", np.sqrt(3 / 4), True),
    ],
)
def test_torch_mlp_initialises_with_the_numpy_bounds(
    iris, activation, init, hidden_bound, hidden_bias_zero
) -> None:
    trainer = TorchMLPTrainer(iris, dtype="float64", device="cpu")
    trainer.setup({"hidden_layer_sizes": [50], "activation": activation, "init": init}, seed=0)
    hidden, out = trainer.model.linears
    w = hidden.weight.detach().abs()
    assert float(w.max()) <= hidden_bound and float(w.max()) > 0.9 * hidden_bound
    assert bool((hidden.bias == 0).all()) == hidden_bias_zero
    out_bound = np.sqrt((2.0 if activation == "logistic" else 6.0) / (50 + 3))
    assert float(out.weight.detach().abs().max()) <= out_bound
    assert float(out.bias.detach().abs().max()) > 0


def test_torch_mlp_every_numpy_activation_trains(iris) -> None:
    for name in ACTIVATIONS:
        t = TorchMLPTrainer(iris, device="cpu")
        t.setup({"activation": name, "hidden_layer_sizes": [16], "learning_rate_init": 0.01}, 0)
        curve = run(t, 15)
        assert curve[-1]["train_loss"] < curve[0]["train_loss"], name


def test_torch_diverging_run_reports_nan_instead_of_raising(iris) -> None:
    t = TorchMLPTrainer(iris, device="cpu")
    t.setup({"solver": "sgd", "learning_rate_init": 1e6, "momentum": 1.0}, seed=0)
    curve = run(t, 20)
    assert curve[-1]["diverged"] == 1.0
    assert np.isnan(curve[-1]["val_accuracy"]) and not np.isfinite(curve[-1]["train_loss"])
    again = TorchMLPTrainer(iris, device="cpu")
    again.restore(t.save())
    assert again.step()["diverged"] == 1.0


def test_torch_early_stopping_keeps_the_best_weights(iris) -> None:
    trainer = TorchMLPTrainer(iris, dtype="float64", device="cpu")
    trainer.setup({"hidden_layer_sizes": [8], "learning_rate_init": 0.05, "early_stopping": True,
                   "validation_fraction": 0.2, "n_iter_no_change": 3}, seed=0)  # fmt: skip
    assert len(trainer.y_fit) == 72  # 20% of 90 held out, as the numpy trainer does
    curve = run(trainer, 60)
    first = next(i for i, m in enumerate(curve) if m.get("stopped_early"))
    assert curve[first + 1] == curve[first] == curve[-1]
    for key, value in trainer.model.state_dict().items():
        assert torch.equal(value, trainer.best_state[key])


def test_torch_mlp_regression_reports_mse_and_r2(tmp_path) -> None:
    import pandas as pd

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(200, 3)), columns=list("abc"))
    frame["y"] = 20 + 5 * frame["a"] - 3 * frame["b"] + rng.normal(0, 0.1, 200)
    frame.to_csv(tmp_path / "r.csv", index=False)
    trainer = TorchMLPTrainer(str(tmp_path / "r.csv"), target="y", device="cpu")
    trainer.setup({"hidden_layer_sizes": [16], "learning_rate_init": 0.01}, seed=0)
    curve = run(trainer, 40)
    assert set(curve[-1]) == {"train_loss", "val_loss", "val_mse", "val_r2", "lr"}
    assert curve[-1]["val_r2"] > 0.9 > curve[0]["val_r2"]


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_torch_trainers_train_in_float64(kind, iris, digits) -> None:
    if kind == "mlp":
        trainer, config = TorchMLPTrainer(iris, dtype="float64", device="cpu"), {}
    else:
        trainer, config = TorchCNNTrainer(digits, dtype="float64", device="cpu"), TINY_CNN
    trainer.setup(config, seed=0)
    curve = run(trainer, 3)
    assert all(p.dtype == torch.float64 for p in trainer.model.parameters())
    assert curve[-1]["train_loss"] < curve[0]["train_loss"]
    assert np.isfinite(curve[-1]["val_loss"])


def test_torch_cnn_learns_digits(digits) -> None:
    trainer = TorchCNNTrainer(digits, device="cpu")
    trainer.setup({"channels": [8], "hidden": 32, "batch_size": 32, "learning_rate_init": 0.01}, 0)
    assert run(trainer, 3)[-1]["val_accuracy"] > 0.93


# -- bad input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"activation": "swish"}, "activation='swish'"),
        ({"solver": "lbgfs"}, "solver='lbgfs'"),
        ({"hidden_layer_sizes": [10, 0]}, "hidden_layer_sizes"),
        ({"alpha": -1}, "alpha=-1"),
        ({"learning_rate": "cyclic"}, "learning_rate='cyclic'"),
        ({"batch_size": 0}, "batch_size=0"),
        ({"momentum": "high"}, "momentum='high'"),
        ({"init": "zeros"}, "init='zeros'"),
        ({"channels": [8]}, "unknown hyperparameter 'channels' for TorchMLPTrainer"),
    ],
)
def test_torch_mlp_bad_hyperparameter_is_a_value_error_naming_it(iris, config, message) -> None:
    trainer = TorchMLPTrainer(iris, device="cpu")
    with pytest.raises(ValueError, match=message.replace("[", r"\[")):
        trainer.setup(config, seed=0)
    with pytest.raises(RuntimeError, match="setup"):
        trainer.step()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"channels": [8, 0]}, "channels=[8, 0] is invalid; expected one or more positive"),
        ({"channels": []}, "channels=[]"),
        ({"kernel_size": 4}, "kernel_size=4 is invalid; expected an odd integer from 1 to 7"),
        ({"activation": "prelu"}, "activation='prelu' is invalid; expected one of relu, tanh"),
        ({"dropout": 1.0}, r"dropout=1.0 is invalid; expected a rate in \[0, 1\)"),
        ({"hidden": 0}, "hidden=0"),
        ({"solver": "lbfgs"}, "solver='lbfgs' is invalid; expected one of sgd, adam"),
        ({"learning_rate_init": 0}, "learning_rate_init=0"),
        ({"batch_size": "big"}, "batch_size='big'"),
        ({"hidden_layer_sizes": [8]}, "unknown hyperparameter 'hidden_layer_sizes' for TorchCNN"),
    ],
)
def test_torch_cnn_bad_hyperparameter_is_a_value_error_naming_it(digits, config, message) -> None:
    with pytest.raises(ValueError, match=message.replace("[8", r"\[8").replace("[]", r"\[\]")):
        TorchCNNTrainer(digits, device="cpu").setup(config, seed=0)


def test_torch_cnn_refuses_a_dataset_that_is_not_8x8_images(iris) -> None:
    with pytest.raises(ValueError, match=r"needs 8×8 images, 64 features per row .* 'iris' has 4"):
        TorchCNNTrainer(iris, device="cpu")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dtype": "float16"}, "dtype='float16'"),
        ({"device": "abacus"}, "device='abacus' is unknown"),
        ({"threads": 0}, "threads=0"),
    ],
)
def test_torch_trainer_bad_option_is_a_value_error(iris, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        TorchMLPTrainer(iris, **kwargs)


# -- PyTorch missing ----------------------------------------------------------------------------------

NO_TORCH = """\
import sys


class _NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _NoTorch())
"""


@pytest.fixture
def no_torch(tmp_path) -> dict[str, str]:
    """An environment whose Python cannot import torch (a sitecustomize that blocks it)."""
    (tmp_path / "sitecustomize.py").write_text(NO_TORCH)
    return {"PYTHONPATH": f"{tmp_path}:{ROOT}"}


@pytest.mark.parametrize("module", ["torch_mlp", "torch_cnn"])
def test_torch_trainer_without_torch_is_one_clear_import_error(module, no_torch) -> None:
    code = f"import trainers.{module}"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **no_torch})  # fmt: skip
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last == f"ImportError: trainers.{module} needs PyTorch: pip install -e '.[torch]'"
    assert "During handling" not in proc.stderr  # no chained ModuleNotFoundError


def test_cli_with_a_torch_trainer_but_no_torch_fails_with_one_line(tmp_path, no_torch) -> None:
    space = tmp_path / "space.yaml"
    space.write_text("space:\n  activation: [relu, tanh]\n")
    proc = hpo("run", str(space), "--trainer", "trainers.torch_mlp:TorchMLPTrainer",
               "--executor", "serial", "--dataset", "iris", "--max-epochs", "3",
               "--storage", str(tmp_path / "s.db"), env=no_torch)  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert "trainers.torch_mlp needs PyTorch: pip install -e '.[torch]'" in proc.stderr


# -- real searches through the CLI -----------------------------------------------------------------


def test_cli_searches_the_torch_mlp_on_iris(tmp_path) -> None:
    space = tmp_path / "space.yaml"
    space.write_text(
        "name: torch-mlp\n"
        "space:\n"
        "  hidden_layer_sizes: {values: [[8], [16]]}\n"
        "  learning_rate_init: {type: float, low: 1.0e-3, high: 0.1, log: true}\n"
        "  activation: [relu, tanh]\n"
        "  solver: [adam, sgd]\n"
    )
    proc = hpo("run", str(space), "--trainer", "trainers.torch_mlp:TorchMLPTrainer",
               "--executor", "serial", "--dataset", "iris", "--max-epochs", "9",
               "--storage", str(tmp_path / "s.db"))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "plan: hyperband, 3 bracket(s), 17 trials" in proc.stdout
    assert "best val_accuracy" in proc.stdout and "epochs spent: 69" in proc.stdout


def test_cli_searches_the_torch_cnn_on_digits(tmp_path) -> None:
    space = tmp_path / "space.yaml"
    space.write_text(
        "name: torch-cnn\n"
        "space:\n"
        "  channels: {values: [[4], [4, 8]]}\n"
        "  hidden: [16, 32]\n"
        "  activation: [relu, tanh]\n"
        "  learning_rate_init: {type: float, low: 1.0e-3, high: 1.0e-2, log: true}\n"
    )
    proc = hpo("run", str(space), "--trainer", "trainers.torch_cnn:TorchCNNTrainer",
               "--executor", "serial", "--dataset", "digits", "--max-epochs", "9",
               "--storage", str(tmp_path / "s.db"))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "plan: hyperband, 3 bracket(s), 17 trials" in proc.stdout
    assert "best val_accuracy" in proc.stdout and "epochs spent: 69" in proc.stdout

"""The trainer contract of MLPTrainer: setup/step/save/restore, exactness, divergence."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

from trainers.data import load_dataset
from trainers.mlp import ACTIVATIONS, MLPTrainer, resolve_config


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="module")
def iris():
    return load_dataset("iris")


def run(trainer: MLPTrainer, epochs: int) -> list[dict[str, float]]:
    return [trainer.step() for _ in range(epochs)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "config",
    [
        {"solver": "sgd", "learning_rate": "constant"},
        {"solver": "sgd", "learning_rate": "invscaling", "nesterovs_momentum": False},
        {"solver": "sgd", "learning_rate": "adaptive", "n_iter_no_change": 1, "tol": 10.0},
        {"solver": "adam", "activation": "prelu"},
        {"solver": "lbfgs", "activation": "tanh"},
        {"solver": "adam", "dropout": [0.3, 0.1]},
        {"solver": "sgd", "normalization": "batch", "activation": "elu"},
        {
            "solver": "adam",
            "normalization": "layer",
            "hidden_layer_sizes": [16, 16, 16],
            "residual": True,
        },
        {"solver": "adam", "early_stopping": True, "n_iter_no_change": 1, "tol": 0.5},
        {"solver": "sgd", "init": "orthogonal", "dropout": 0.2, "normalization": "batch"},
        {"solver": "adam", "depth": 3, "width": 8, "residual": True, "init": "he_normal"},
    ],
    ids=[
        "sgd",
        "sgd-invscaling",
        "sgd-adaptive",
        "adam-prelu",
        "lbfgs",
        "dropout",
        "batchnorm",
        "layernorm-residual",
        "early-stopping",
        "orthogonal-dropout-batchnorm",
        "depth-width",
    ],
)
def test_restore_continues_exactly_like_an_uninterrupted_run(iris, config, dtype) -> None:
    base = {} if "depth" in config else {"hidden_layer_sizes": [16, 8]}
    config = {**base, "batch_size": 32, "alpha": 1e-3, **config}
    straight = MLPTrainer(iris, dtype=dtype)
    straight.setup(config, seed=3)
    expected = run(straight, 7)

    first = MLPTrainer(iris, dtype=dtype)
    first.setup(config, seed=3)
    got = run(first, 3)
    state = pickle.loads(pickle.dumps(first.save()))
    fresh = MLPTrainer(iris, dtype=dtype)
    fresh.restore(state)
    got += run(fresh, 4)

    assert got == expected
    np.testing.assert_array_equal(fresh.net.theta, straight.net.theta)


def test_same_seed_same_curve_and_different_seed_different_curve(iris) -> None:
    curves = []
    for seed in (1, 1, 2):
        t = MLPTrainer(iris)
        t.setup({"hidden_layer_sizes": [10]}, seed=seed)
        curves.append(run(t, 3))
    assert curves[0] == curves[1]
    assert curves[0] != curves[2]


def test_step_reports_the_contract_metrics(iris) -> None:
    t = MLPTrainer(iris)
    t.setup({}, seed=0)
    metrics = t.step()
    assert {"train_loss", "val_loss", "val_accuracy"} <= set(metrics)
    assert all(isinstance(v, float) for v in metrics.values())
    assert 0.0 <= metrics["val_accuracy"] <= 1.0


def test_training_lowers_the_risk_for_every_activation(iris) -> None:
    for name in ACTIVATIONS:
        t = MLPTrainer(iris)
        t.setup(
            {"activation": name, "hidden_layer_sizes": [16], "learning_rate_init": 0.01}, seed=0
        )
        curve = run(t, 30)
        assert curve[-1]["train_loss"] < curve[0]["train_loss"], name


def test_diverging_run_reports_nan_instead_of_raising(iris) -> None:
    t = MLPTrainer(iris)
    t.setup({"solver": "sgd", "learning_rate_init": 1e6, "momentum": 1.0}, seed=0)
    curve = run(t, 20)
    assert curve[-1]["diverged"] == 1.0
    assert np.isnan(curve[-1]["val_accuracy"])
    assert not np.isfinite(curve[-1]["train_loss"])
    again = MLPTrainer(iris)
    again.restore(t.save())
    assert again.step()["diverged"] == 1.0


def test_report_l2_penalty_is_half_lambda_frobenius(iris) -> None:
    """R(W, b) = mean CE + ½λ‖W‖²_F, not divided by the batch size as scikit-learn does."""
    t = MLPTrainer(iris, dtype="float64")
    t.setup({"alpha": 2.0, "solver": "lbfgs"}, seed=0)
    w = t.net.weights
    risk, _ = t._full_objective(t.net.theta)
    ce = t.net.loss_and_grad(t.data.X_train, t.data.y_train)
    assert risk == pytest.approx(ce + 0.5 * 2.0 * float(w @ w))


def test_lbfgs_stops_once_converged_and_later_epochs_cost_nothing(iris) -> None:
    """As scikit-learn's lbfgs stops at convergence, later epochs leave the model as it is
    and evaluate no objective (a collapsed float32 net would otherwise grind through
    subnormal numbers); restore keeps the converged flag."""
    t = MLPTrainer(iris, dtype="float32")
    t.setup({"alpha": 100.0, "solver": "lbfgs", "activation": "logistic"}, seed=0)
    for _ in range(60):
        t.step()
    assert t.opt.converged
    calls = []
    objective = t._full_objective
    t._full_objective = lambda theta: calls.append(1) or objective(theta)  # type: ignore[method-assign]
    theta = t.net.theta.copy()
    before = t.step()
    assert calls == [] and np.array_equal(t.net.theta, theta)
    again = MLPTrainer(iris, dtype="float32")
    again.restore(t.save())
    assert again.opt.converged and again.step()["train_loss"] == before["train_loss"]


def test_lbfgs_on_a_quadratic_reaches_the_minimum_then_stays() -> None:
    from trainers.mlp import LBFGS

    A = np.diag([1.0, 10.0, 100.0])
    target = np.array([1.0, -2.0, 3.0])

    def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
        d = x - target
        return 0.5 * float(d @ A @ d), A @ d

    opt, x = LBFGS(gtol=1e-8), np.zeros(3)
    for _ in range(50):
        opt.iterate(x, objective)
    assert opt.converged and np.allclose(x, target, atol=1e-6)


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
        ({"dropouts": 0.5}, "unknown hyperparameter 'dropouts'"),
    ],
)
def test_bad_config_is_a_clear_value_error(config, message) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[")):
        resolve_config(config)


def test_report_defaults_are_scikit_learns() -> None:
    c = resolve_config({})
    assert c["hidden_layer_sizes"] == (100,)
    assert (c["activation"], c["solver"], c["alpha"], c["learning_rate_init"]) == (
        "relu",
        "adam",
        1e-4,
        1e-3,
    )


def test_step_before_setup_is_an_error(iris) -> None:
    with pytest.raises(RuntimeError, match="setup"):
        MLPTrainer(iris).step()


def test_test_accuracy_within_1_5_points_of_scikit_learn(digits) -> None:
    """The report's defaults on digits, 200 epochs, same split: parity with MLPClassifier."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    ours = MLPTrainer(digits, dtype="float64")
    ours.setup({}, seed=0)
    run(ours, 200)
    acc = float((ours.predict(digits.X_test) == digits.y_test).mean())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier(random_state=0, max_iter=200).fit(digits.X_train, digits.y_train)
    reference = clf.score(digits.X_test, digits.y_test)
    assert abs(acc - reference) <= 0.015, (acc, reference)


# -- the report's §4 aids and regression ------------------------------------------------------------


def test_early_stopping_keeps_the_best_weights_as_scikit_learn_does(iris) -> None:
    trainer = MLPTrainer(iris, dtype="float64")
    config = {"hidden_layer_sizes": [8], "solver": "adam", "learning_rate_init": 0.05,
              "early_stopping": True, "validation_fraction": 0.2, "n_iter_no_change": 3}  # fmt: skip
    trainer.setup(config, seed=0)
    assert len(trainer.y_fit) == 72 and len(trainer.y_hold) == 18  # 20% of 90, stratified
    curve = run(trainer, 60)
    stopped = [i for i, m in enumerate(curve) if m.get("stopped_early")]
    assert stopped, "never stopped"
    first = stopped[0]
    assert curve[first + 1] == curve[first] and curve[-1] == curve[first]  # nothing trains on
    np.testing.assert_array_equal(trainer.net.theta, trainer.best_theta)


def test_unused_aids_leave_the_network_on_the_plain_path(iris) -> None:
    """Off by default: the same curve as the network without them, bit for bit."""
    base = {"hidden_layer_sizes": [16, 16], "solver": "adam"}
    plain, explicit = MLPTrainer(iris), MLPTrainer(iris)
    plain.setup(base, seed=1)
    explicit.setup({**base, "dropout": 0.0, "normalization": "none", "residual": False}, seed=1)
    assert run(plain, 5) == run(explicit, 5)
    assert all(plain.net._plain)


def test_a_deeper_network_trains_with_normalisation_and_residuals(digits) -> None:
    """Ten tanh layers of 32: the aids of §4 get the deep network going in a few epochs."""
    deep = {"hidden_layer_sizes": [32] * 10, "activation": "logistic", "solver": "sgd",
            "learning_rate_init": 0.05, "momentum": 0.9}  # fmt: skip
    scores = {}
    for name, extra in {"plain": {}, "aided": {"normalization": "batch", "residual": True}}.items():
        trainer = MLPTrainer(digits)
        trainer.setup({**deep, **extra}, seed=0)
        scores[name] = run(trainer, 5)[-1]["val_accuracy"]
    assert scores["aided"] > scores["plain"] + 0.3, scores


def test_regression_reports_mse_and_r2(tmp_path) -> None:
    import pandas as pd

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    frame = pd.DataFrame(X, columns=list("abcd"))
    frame["y"] = 50 + 10 * np.sin(X[:, 0]) + 5 * X[:, 1] * X[:, 2] + rng.normal(0, 0.5, 300)
    path = tmp_path / "r.csv"
    frame.to_csv(path, index=False)
    trainer = MLPTrainer(str(path), target="y")
    trainer.setup(
        {"hidden_layer_sizes": [32], "solver": "adam", "learning_rate_init": 0.01}, seed=0
    )
    curve = run(trainer, 100)
    assert set(curve[-1]) == {"train_loss", "val_loss", "val_mse", "val_r2", "lr"}
    assert curve[-1]["val_r2"] > 0.7 > 0.3 > curve[0]["val_r2"]  # scikit-learn's MLPRegressor: 0.85
    predicted = trainer.predict_values(trainer.data.X_val)
    truth = trainer.data.y_val * trainer.data.y_scale + trainer.data.y_mean
    assert np.mean((predicted - truth) ** 2) == pytest.approx(curve[-1]["val_mse"], rel=1e-4)

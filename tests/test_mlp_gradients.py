"""Backpropagation checked against central finite differences, in float64."""

from __future__ import annotations

import numpy as np
import pytest

from trainers.mlp import ACTIVATIONS, Network, make_activation

EPS = 1e-6


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300))


def numeric_gradient(f, theta: np.ndarray) -> np.ndarray:
    grad = np.empty_like(theta)
    for i in range(theta.size):
        old = theta[i]
        theta[i] = old + EPS
        up = f()
        theta[i] = old - EPS
        down = f()
        theta[i] = old
        grad[i] = (up - down) / (2 * EPS)
    return grad


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_derivative_matches_finite_differences(name: str) -> None:
    rng = np.random.default_rng(1)
    # Stay away from the kinks of relu (0), hard_tanh (±1) and hard_logistic (±2).
    z = rng.uniform(-3, 3, size=(6, 5))
    z[np.abs(np.abs(z) - np.round(np.abs(z))) < 1e-3] += 0.01
    act = make_activation(name, 0.3)
    if act.params_per_unit:
        act.bind(np.full(5, 0.3), np.zeros(5))
    a = act.forward(z, np.empty_like(z))
    grad_a = rng.normal(size=z.shape)
    analytic = act.backward(z, a, grad_a.copy())
    numeric = (act.forward(z + EPS, np.empty_like(z)) - act.forward(z - EPS, np.empty_like(z))) / (
        2 * EPS
    )
    assert relative_error(analytic, numeric * grad_a) < 1e-6


def test_activation_values_follow_the_report() -> None:
    z = np.array([[-5.0, -1.5, -0.5, 0.0, 0.5, 1.5, 5.0]])
    out = np.empty_like(z)

    def f(name: str, gamma: float | None = None) -> np.ndarray:
        act = make_activation(name, gamma)
        if act.params_per_unit:
            act.bind(np.full(z.shape[1], 0.2), np.zeros(z.shape[1]))
        return act.forward(z, out).copy()

    np.testing.assert_allclose(f("hard_logistic"), np.clip(0.25 * z + 0.5, 0, 1))
    np.testing.assert_allclose(f("hard_tanh"), np.clip(z, -1, 1))
    np.testing.assert_allclose(f("logistic"), 1 / (1 + np.exp(-z)))
    np.testing.assert_allclose(f("tanh"), np.tanh(z))
    np.testing.assert_allclose(f("relu"), np.maximum(z, 0))
    np.testing.assert_allclose(f("leaky_relu", 0.1), np.maximum(z, 0) + 0.1 * np.minimum(z, 0))
    np.testing.assert_allclose(f("prelu"), np.maximum(z, 0) + 0.2 * np.minimum(z, 0))
    np.testing.assert_allclose(f("elu", 2.0), np.where(z > 0, z, 2.0 * np.expm1(z)))
    np.testing.assert_allclose(f("softplus"), np.log1p(np.exp(z)))
    np.testing.assert_allclose(f("identity"), z)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_network_gradient_matches_finite_differences(name: str, alpha: float) -> None:
    """The whole risk R(W, b) = mean cross-entropy + ½λ‖W‖²_F, every parameter (PReLU γ too)."""
    rng = np.random.default_rng(7)
    net = Network(5, (4, 3), 3, name, gamma=0.3, dtype=np.float64, init="glorot", rng=rng)
    X = rng.normal(size=(9, 5))
    y = rng.integers(0, 3, size=9)

    def risk() -> float:
        return net.loss_and_grad(X, y) + 0.5 * alpha * float(net.weights @ net.weights)

    risk()
    analytic = net.grad.copy()
    analytic[: net.n_weights] += alpha * net.weights
    numeric = numeric_gradient(risk, net.theta)
    assert relative_error(analytic, numeric) < 1e-6
    if name == "prelu":  # the slopes are parameters and have a gradient of their own
        n_gamma = 4 + 3
        assert np.abs(analytic[-n_gamma:]).max() > 0
        assert relative_error(analytic[-n_gamma:], numeric[-n_gamma:]) < 1e-6


def test_softmax_survives_a_large_spread_between_rows() -> None:
    """The batch-max shift falls back to row-wise shifts when a row would underflow."""
    rng = np.random.default_rng(0)
    net = Network(2, (3,), 4, "identity", dtype=np.float32, rng=rng)
    X = np.array([[500.0, 0.0], [-500.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    loss = net.loss_and_grad(X, np.array([0, 1, 2]))
    assert np.isfinite(loss)
    assert np.isfinite(net.grad).all()


# -- the report's §4 aids, each checked against finite differences --------------------------


def _check(net: Network, X: np.ndarray, y: np.ndarray) -> None:
    net.loss_and_grad(X, y)
    analytic = net.grad.copy()
    numeric = numeric_gradient(lambda: net.loss_and_grad(X, y), net.theta)
    assert relative_error(analytic, numeric) < 1e-6


@pytest.mark.parametrize("normalization", ["batch", "layer"])
@pytest.mark.parametrize("name", ["tanh", "prelu", "elu", "logistic"])
def test_normalised_network_gradient_matches_finite_differences(normalization, name) -> None:
    rng = np.random.default_rng(3)
    net = Network(
        5, (4, 3), 3, name, gamma=0.3, dtype=np.float64, rng=rng, normalization=normalization
    )
    net.theta[-14:] = rng.uniform(0.5, 1.5, 14)  # γ and β away from 1 and 0
    X, y = rng.normal(size=(9, 5)), rng.integers(0, 3, size=9)
    _check(net, X, y)
    assert np.abs(net.grad[-14:]).max() > 0  # γ and β learn


def test_residual_network_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(4)
    net = Network(5, (4, 4, 4, 3), 3, "tanh", dtype=np.float64, rng=rng, residual=True)
    assert net.residual == (False, True, True, False)
    X, y = rng.normal(size=(9, 5)), rng.integers(0, 3, size=9)
    _check(net, X, y)


def test_dropout_gradient_matches_finite_differences_with_a_fixed_mask() -> None:
    rng = np.random.default_rng(5)
    net = Network(5, (6, 6), 3, "relu", dtype=np.float64, rng=rng, dropout=(0.5, 0.25),
                  residual=True, normalization="layer")  # fmt: skip
    # Non-zero biases: a row whose inputs were all dropped must not sit on ReLU's kink.
    net.theta[net.n_weights :] = rng.uniform(0.1, 0.5, net.theta.size - net.n_weights)
    n = 9
    masks = [(rng.random((n, 6)) >= p) / (1 - p) for p in (0.5, 0.25)]
    net.fixed_masks = masks
    X, y = rng.normal(size=(n, 5)), rng.integers(0, 3, size=n)
    _check(net, X, y)


def test_squared_loss_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(6)
    net = Network(5, (4,), 2, "softplus", dtype=np.float64, rng=rng, loss="squared")
    X, y = rng.normal(size=(9, 5)), rng.normal(size=(9, 2))
    _check(net, X, y)


def test_dropout_is_inverted_and_off_in_evaluation() -> None:
    rng = np.random.default_rng(8)
    net = Network(4, (200,), 2, "identity", dtype=np.float64, rng=rng, dropout=(0.4,))
    X = np.ones((50, 4))
    plain = net.forward(X).copy()
    Z, A, _ = net._buffers(50)
    trained = net.forward(X, Z, A, training=True)
    kept = A[0] != 0
    assert 0.5 < kept.mean() < 0.7  # about 1 − p of the units kept
    assert np.allclose(np.where(kept, A[0], 0).sum() / kept.sum(), (A[0][kept]).mean())
    assert trained.shape == plain.shape and np.array_equal(net.forward(X), plain)


@pytest.mark.parametrize(
    "init", ["glorot", "glorot_normal", "he", "he_normal", "lecun", "orthogonal"]
)
def test_every_initialisation_gives_finite_weights_of_the_right_scale(init) -> None:
    net = Network(
        64, (128, 128), 10, "relu", dtype=np.float64, init=init, rng=np.random.default_rng(0)
    )
    w = net.layers[1].W
    assert np.isfinite(net.theta).all() and 0.01 < w.std() < 1.0
    if init == "orthogonal":
        np.testing.assert_allclose(w @ w.T / 2.0, np.eye(128), atol=1e-8)

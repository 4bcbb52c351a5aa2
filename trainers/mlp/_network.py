"""The feed-forward network of the report's §1.3.3 and its backpropagation (§2).

Notation follows the report, vectorised over a batch of ``n`` rows:

* layer ``l`` computes ``Z⁽ˡ⁾ = A⁽ˡ⁻¹⁾ W⁽ˡ⁾ᵀ + b⁽ˡ⁾`` (the report's ``z = W a + b`` per
  sample, ``W⁽ˡ⁾`` of shape ``M_l × M_{l-1}``) and ``A⁽ˡ⁾ = f_l(Z⁽ˡ⁾)``;
* the output layer is softmax with cross-entropy, ``L = −yᵀ log ŷ``; for the batch mean
  the error term of the last layer is ``δ⁽ᴸ⁾ = (ŷ − y) / n``;
* the δ recursion ``δ⁽ˡ⁾ = f_l'(z⁽ˡ⁾) ⊙ (W⁽ˡ⁺¹⁾ᵀ δ⁽ˡ⁺¹⁾)`` and the gradients
  ``∂L/∂W⁽ˡ⁾ = δ⁽ˡ⁾ a⁽ˡ⁻¹⁾ᵀ``, ``∂L/∂b⁽ˡ⁾ = δ⁽ˡ⁾``, summed over the batch.

All parameters live in one flat vector ``theta`` (weights of every layer first, then the
biases, then PReLU slopes), and the layers hold views into it; the gradient likewise.
The optimisers then update every parameter with a handful of vector operations, and
the L2 penalty ``½λ‖W‖²_F`` touches exactly ``theta[:n_weights]``.
"""

from __future__ import annotations

import numpy as np

from trainers.mlp._activations import Activation, Identity, make_activation

Array = np.ndarray

#: Activations that get He initialisation under ``init="auto"``.
RELU_FAMILY = frozenset({"relu", "leaky_relu", "prelu", "elu"})


class Dense:
    """One affine layer ``Z = A Wᵀ + b``; ``W``, ``b`` and their gradients are views."""

    def __init__(self, W: Array, b: Array, dW: Array, db: Array) -> None:
        self.W, self.b, self.dW, self.db = W, b, dW, db

    @property
    def fan_out(self) -> int:
        return self.W.shape[0]


class Network:
    """A multilayer perceptron with softmax output, trained by backpropagation.

    Args:
        n_inputs: features per sample (M_0).
        hidden: sizes of the hidden layers (M_1 … M_{L-1}).
        n_outputs: classes (M_L).
        activation: name of the hidden activation (see ``ACTIVATIONS``).
        gamma: γ of leaky ReLU / ELU, or PReLU's initial slope; None for the default.
        dtype: float32 or float64.
        init: "glorot", "he", or "auto" (He for the ReLU family, Glorot otherwise).
        rng: the generator that draws the initial weights.
    """

    def __init__(
        self,
        n_inputs: int,
        hidden: tuple[int, ...],
        n_outputs: int,
        activation: str,
        *,
        gamma: float | None = None,
        dtype: np.dtype | str = np.float64,
        init: str = "auto",
        rng: np.random.Generator,
    ) -> None:
        self.dtype = np.dtype(dtype)
        sizes = [n_inputs, *hidden, n_outputs]
        self.sizes = tuple(sizes)
        self.activations: list[Activation] = [make_activation(activation, gamma) for _ in hidden]
        shapes = [(sizes[i + 1], sizes[i]) for i in range(len(sizes) - 1)]
        self.n_weights = sum(o * i for o, i in shapes)
        n_biases = sum(o for o, _ in shapes)
        n_gammas = sum(a.params_per_unit * h for a, h in zip(self.activations, hidden, strict=True))
        self.theta = np.empty(self.n_weights + n_biases + n_gammas, dtype=self.dtype)
        self.grad = np.zeros_like(self.theta)

        self.layers: list[Dense] = []
        w_at, b_at = 0, self.n_weights
        for out, inp in shapes:
            W = self.theta[w_at : w_at + out * inp].reshape(out, inp)
            dW = self.grad[w_at : w_at + out * inp].reshape(out, inp)
            self.layers.append(
                Dense(W, self.theta[b_at : b_at + out], dW, self.grad[b_at : b_at + out])
            )
            w_at, b_at = w_at + out * inp, b_at + out
        g_at = b_at
        for act, width in zip(self.activations, hidden, strict=True):
            if act.params_per_unit:
                act.bind(self.theta[g_at : g_at + width], self.grad[g_at : g_at + width])  # type: ignore[attr-defined]
                g_at += width
        self._initialise(activation, init, rng)
        self._capacity = 0
        self._Z: list[Array] = []
        self._A: list[Array] = []
        self._G: list[Array] = []
        self._P = np.empty((0, n_outputs), self.dtype)
        self._ones = np.ones(0, self.dtype)
        self._ones_classes = np.ones(n_outputs, self.dtype)

    def _initialise(self, activation: str, init: str, rng: np.random.Generator) -> None:
        """Glorot uniform (as scikit-learn: factor 2 for logistic, else 6) or He uniform."""
        if init not in ("auto", "glorot", "he"):
            raise ValueError(f"init={init!r} is unknown; expected 'auto', 'glorot' or 'he'")
        use_he = init == "he" or (init == "auto" and activation in RELU_FAMILY)
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            fan_out, fan_in = layer.W.shape
            if use_he and i < last:
                bound = np.sqrt(6.0 / fan_in)
                layer.W[...] = rng.uniform(-bound, bound, layer.W.shape)
                layer.b[...] = 0.0
            else:
                factor = 2.0 if activation == "logistic" else 6.0
                bound = np.sqrt(factor / (fan_in + fan_out))
                layer.W[...] = rng.uniform(-bound, bound, layer.W.shape)
                layer.b[...] = rng.uniform(-bound, bound, layer.b.shape)
        for act in self.activations:
            if act.params_per_unit:
                act.gamma[...] = act.init_gamma  # type: ignore[attr-defined]

    @property
    def weights(self) -> Array:
        """The weights of every layer as one flat view: what the L2 penalty acts on."""
        return self.theta[: self.n_weights]

    def _buffers(self, n: int) -> tuple[list[Array], list[Array], list[Array]]:
        """Preallocated Z, A and ∂L/∂A buffers for a batch of ``n`` rows (views)."""
        if n > self._capacity:
            widths = self.sizes[1:]
            self._Z = [np.empty((n, w), self.dtype) for w in widths]
            # An identity layer's activation is its net input: share the buffer.
            self._A = [
                z if isinstance(act, Identity) else np.empty_like(z)
                for z, act in zip(self._Z, self.activations, strict=False)
            ]
            self._G = [np.empty((n, w), self.dtype) for w in widths[:-1]]
            self._P = np.empty((n, self.sizes[-1]), self.dtype)
            self._ones = np.ones(n, self.dtype)
            self._capacity = n
        if n == self._capacity:
            return self._Z, self._A, self._G
        return [z[:n] for z in self._Z], [a[:n] for a in self._A], [g[:n] for g in self._G]

    def forward(
        self, X: Array, Z: list[Array] | None = None, A: list[Array] | None = None
    ) -> Array:
        """Logits ``Z⁽ᴸ⁾`` of a batch; with buffers given, keeps every ``Z⁽ˡ⁾, A⁽ˡ⁾``."""
        a = X
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            z = np.matmul(a, layer.W.T, out=None if Z is None else Z[i])
            z += layer.b
            if i < last:
                act = self.activations[i]
                if A is not None:
                    a = act.forward(z, A[i])
                else:
                    a = act.forward(z, z if isinstance(act, Identity) else np.empty_like(z))
        return z

    def _softmax(self, logits: Array, y: Array, probs: Array) -> tuple[Array, Array]:
        """Softmax of ``logits`` into ``probs``; returns (log Σ exp z, z_y), both shifted.

        Logits are shifted by the batch maximum (one cheap reduction) rather than each
        row's, which keeps every exponent ≤ 0. Only if a row's sum then underflows (a
        spread of ~100 between rows in float32) is the row-wise shift applied.
        """
        logits -= logits.max()
        z_y = logits[np.arange(len(y)), y]
        np.exp(logits, out=probs)
        sums = np.matmul(probs, self._ones_classes)
        if not sums.min() > 1e-30:
            row_max = logits.max(axis=1)
            logits -= row_max[:, None]
            z_y -= row_max
            np.exp(logits, out=probs)
            sums = np.matmul(probs, self._ones_classes)
        probs /= sums[:, None]
        return np.log(sums), z_y

    def loss_and_grad(self, X: Array, y: Array) -> float:
        """Mean cross-entropy of the batch; fills ``self.grad`` by backpropagation (no L2)."""
        n = X.shape[0]
        Z, A, G = self._buffers(n)
        logits = self.forward(X, Z, A)
        # Softmax with cross-entropy: L = log Σ_c exp(z_c) − z_y, and for the batch mean
        # the last error term is δ⁽ᴸ⁾ = (softmax(z) − onehot(y)) / n.
        delta = self._P[:n]
        log_sums, z_y = self._softmax(logits, y, delta)
        loss = float(log_sums.sum() - z_y.sum()) / n
        delta[np.arange(n), y] -= 1.0
        delta *= 1.0 / n
        ones = self._ones[:n]
        for i in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[i]
            a_prev = X if i == 0 else A[i - 1]
            np.matmul(delta.T, a_prev, out=layer.dW)
            np.matmul(ones, delta, out=layer.db)  # Σ_batch δ, as one BLAS call
            if i > 0:
                g = np.matmul(delta, layer.W, out=G[i - 1])
                delta = self.activations[i - 1].backward(Z[i - 1], A[i - 1], g)
        return loss

    def log_proba(self, X: Array) -> Array:
        """Log of the softmax probabilities ŷ for each row of ``X`` (a new array)."""
        logits = self.forward(X)
        logits -= logits.max(axis=1, keepdims=True)
        logits -= np.log(np.exp(logits).sum(axis=1, keepdims=True))
        return logits

    def evaluate(self, X: Array, y: Array) -> tuple[float, float]:
        """Mean cross-entropy and accuracy on ``(X, y)``, reusing the batch buffers."""
        n = X.shape[0]
        Z, A, _ = self._buffers(n)
        logits = self.forward(X, Z, A)
        predicted = logits.argmax(axis=1)
        log_sums, z_y = self._softmax(logits, y, self._P[:n])
        return float(log_sums.sum() - z_y.sum()) / n, float(np.count_nonzero(predicted == y)) / n

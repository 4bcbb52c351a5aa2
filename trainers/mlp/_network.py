"""The feed-forward network of the report's §1.3.3, its backpropagation (§2), and the
aids of §4 that make deeper networks train.

Notation follows the report, vectorised over a batch of ``n`` rows:

* layer ``l`` computes ``Z⁽ˡ⁾ = A⁽ˡ⁻¹⁾ W⁽ˡ⁾ᵀ + b⁽ˡ⁾`` (the report's ``z = W a + b`` per
  sample, ``W⁽ˡ⁾`` of shape ``M_l × M_{l-1}``) and ``A⁽ˡ⁾ = f_l(Z⁽ˡ⁾)``;
* the output layer is softmax with cross-entropy, ``L = −yᵀ log ŷ``; for the batch mean
  the error term of the last layer is ``δ⁽ᴸ⁾ = (ŷ − y) / n``. For regression it is the
  identity with the squared error ``L = ½‖ŷ − y‖²``, and again ``δ⁽ᴸ⁾ = (ŷ − y) / n``;
* the δ recursion ``δ⁽ˡ⁾ = f_l'(z⁽ˡ⁾) ⊙ (W⁽ˡ⁺¹⁾ᵀ δ⁽ˡ⁺¹⁾)`` and the gradients
  ``∂L/∂W⁽ˡ⁾ = δ⁽ˡ⁾ a⁽ˡ⁻¹⁾ᵀ``, ``∂L/∂b⁽ˡ⁾ = δ⁽ˡ⁾``, summed over the batch.

§4's aids, each optional per network and free when unused (a hidden layer without any
takes exactly the plain path above):

* **normalisation** of each hidden layer's net input before its activation: *batch*
  (over the batch, with running statistics for evaluation; Ioffe & Szegedy 2015) or
  *layer* (over the layer's units; Ba et al. 2016), ``ẑ = γ (z − μ)/√(σ² + ε) + β`` with
  ``γ, β`` learned per unit;
* **dropout** (inverted: kept units are scaled by ``1/(1 − p)`` while training, so that
  evaluation uses the network as it is), a rate per hidden layer;
* **residual connections** between consecutive hidden layers of equal width:
  ``A⁽ˡ⁾ = f(Z⁽ˡ⁾) + A⁽ˡ⁻¹⁾`` (He et al. 2016), so that ``∂L/∂A⁽ˡ⁻¹⁾`` gains ``∂L/∂A⁽ˡ⁾``;
* **initialisation** schemes: Glorot (uniform, normal), He (uniform, normal), LeCun,
  orthogonal.

All parameters live in one flat vector ``theta`` (weights of every layer first, then the
biases, PReLU slopes, and the normalisations' γ and β), and the layers hold views into
it; the gradient likewise. The optimisers update every parameter with a handful of
vector operations, and the L2 penalty ``½λ‖W‖²_F`` touches exactly ``theta[:n_weights]``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from trainers.mlp._activations import Activation, Identity, make_activation

Array = np.ndarray

#: Activations that get He initialisation under ``init="auto"``.
RELU_FAMILY = frozenset({"relu", "leaky_relu", "prelu", "elu"})
INITS = ("auto", "glorot", "glorot_normal", "he", "he_normal", "lecun", "orthogonal")
NORMALIZATIONS = ("none", "batch", "layer")
LOSSES = ("cross_entropy", "squared")


class Dense:
    """One affine layer ``Z = A Wᵀ + b``; ``W``, ``b`` and their gradients are views."""

    def __init__(self, W: Array, b: Array, dW: Array, db: Array) -> None:
        self.W, self.b, self.dW, self.db = W, b, dW, db

    @property
    def fan_out(self) -> int:
        return self.W.shape[0]


class Norm:
    """Batch or layer normalisation of one layer's net input; ``γ``, ``β`` are views.

    Batch normalisation keeps running mean and variance (momentum 0.1, unbiased variance,
    as PyTorch) for evaluation; layer normalisation needs none.
    """

    eps = 1e-5
    momentum = 0.1

    def __init__(self, kind: str, gamma: Array, beta: Array, dgamma: Array, dbeta: Array) -> None:
        self.kind = kind
        self.gamma, self.beta, self.dgamma, self.dbeta = gamma, beta, dgamma, dbeta
        self.axis = 0 if kind == "batch" else 1
        width = gamma.shape[0]
        self.running_mean = np.zeros(width, gamma.dtype)
        self.running_var = np.ones(width, gamma.dtype)
        self._x_hat = np.empty((0, width), gamma.dtype)
        self._inv_std = np.empty(0, gamma.dtype)

    def forward(self, z: Array, out: Array, training: bool) -> Array:
        """``out = γ ẑ + β``, ``ẑ`` the normalised ``z``; keeps ``ẑ`` for backward."""
        if self.kind == "batch" and not training:
            inv_std = 1.0 / np.sqrt(self.running_var + self.eps)
            np.subtract(z, self.running_mean, out=out)
            out *= inv_std * self.gamma
            out += self.beta
            return out
        keep = self.axis == 1
        mean = z.mean(axis=self.axis, keepdims=keep)
        var = z.var(axis=self.axis, keepdims=keep)
        inv_std = 1.0 / np.sqrt(var + self.eps)
        if self._x_hat.shape != z.shape:
            self._x_hat = np.empty_like(z)
        x_hat = self._x_hat
        np.subtract(z, mean, out=x_hat)
        x_hat *= inv_std
        self._inv_std = inv_std
        if self.kind == "batch" and training:
            n = z.shape[0]
            m = self.momentum
            self.running_mean *= 1.0 - m
            self.running_mean += m * mean
            self.running_var *= 1.0 - m
            self.running_var += m * var * (n / max(n - 1, 1))
        np.multiply(x_hat, self.gamma, out=out)
        out += self.beta
        return out

    def backward(self, g: Array) -> Array:
        """``∂L/∂out`` → ``∂L/∂z`` in place; sets ``∂L/∂γ`` and ``∂L/∂β``.

        With ``g_x = γ ⊙ ∂L/∂out`` and ``m`` the size of the normalised axis,
        ``∂L/∂z = (1/σ) (g_x − mean(g_x) − ẑ mean(g_x ⊙ ẑ))``.
        """
        x_hat, axis = self._x_hat, self.axis
        np.sum(g, axis=0, out=self.dbeta)
        np.sum(g * x_hat, axis=0, out=self.dgamma)
        g *= self.gamma
        keep = axis == 1
        mean_g = g.mean(axis=axis, keepdims=keep)
        mean_gx = (g * x_hat).mean(axis=axis, keepdims=keep)
        g -= mean_g
        g -= x_hat * mean_gx
        g *= self._inv_std
        return g


class Network:
    """A multilayer perceptron trained by backpropagation.

    Args:
        n_inputs: features per sample (M_0).
        hidden: sizes of the hidden layers (M_1 … M_{L-1}).
        n_outputs: classes (M_L), or targets of a regression.
        activation: name of the hidden activation (see ``ACTIVATIONS``).
        gamma: γ of leaky ReLU / ELU, or PReLU's initial slope; None for the default.
        dtype: float32 or float64.
        init: one of ``INITS``; "auto" is He for the ReLU family, Glorot otherwise.
        rng: the generator that draws the initial weights and the dropout masks.
        dropout: the dropout rate of each hidden layer (empty: none).
        normalization: "none", "batch" or "layer".
        residual: add each hidden layer's input to its output when their widths match.
        loss: "cross_entropy" (softmax output, classes) or "squared" (identity, regression).
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
        dropout: Sequence[float] = (),
        normalization: str = "none",
        residual: bool = False,
        loss: str = "cross_entropy",
    ) -> None:
        if normalization not in NORMALIZATIONS:
            raise ValueError(
                f"normalization={normalization!r} is unknown; expected one of {NORMALIZATIONS}"
            )
        if loss not in LOSSES:
            raise ValueError(f"loss={loss!r} is unknown; expected one of {LOSSES}")
        self.dtype = np.dtype(dtype)
        self.rng = rng
        self.loss = loss
        sizes = [n_inputs, *hidden, n_outputs]
        self.sizes = tuple(sizes)
        self.activations: list[Activation] = [make_activation(activation, gamma) for _ in hidden]
        shapes = [(sizes[i + 1], sizes[i]) for i in range(len(sizes) - 1)]
        self.n_weights = sum(o * i for o, i in shapes)
        n_biases = sum(o for o, _ in shapes)
        n_gammas = sum(a.params_per_unit * h for a, h in zip(self.activations, hidden, strict=True))
        n_norm = 2 * sum(hidden) if normalization != "none" else 0
        self.theta = np.empty(self.n_weights + n_biases + n_gammas + n_norm, dtype=self.dtype)
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
        at = b_at
        for act, width in zip(self.activations, hidden, strict=True):
            if act.params_per_unit:
                act.bind(self.theta[at : at + width], self.grad[at : at + width])  # type: ignore[attr-defined]
                at += width
        self.norms: list[Norm | None] = [None] * len(hidden)
        if normalization != "none":
            for i, width in enumerate(hidden):
                views = [self.theta[at : at + width], self.theta[at + width : at + 2 * width],
                         self.grad[at : at + width], self.grad[at + width : at + 2 * width]]  # fmt: skip
                self.norms[i] = Norm(normalization, *views)
                at += 2 * width
        rates = tuple(float(p) for p in dropout) or (0.0,) * len(hidden)
        if len(rates) != len(hidden):
            raise ValueError(f"dropout has {len(rates)} rates for {len(hidden)} hidden layers")
        self.dropout = rates
        # Residual connections between consecutive hidden layers of equal width.
        self.residual = tuple(
            residual and i > 0 and hidden[i] == hidden[i - 1] for i in range(len(hidden))
        )
        # Without dropout or a residual connection the activation writes A itself; a layer
        # with none of §4's aids takes the plain path of the report.
        self._direct = tuple(not rates[i] and not self.residual[i] for i in range(len(hidden)))
        self._plain = tuple(self._direct[i] and self.norms[i] is None for i in range(len(hidden)))
        self.fixed_masks: list[Array | None] | None = None  # dropout masks for gradient checks
        self._initialise(activation, init, rng)
        self._capacity = 0
        self._Z: list[Array] = []
        self._A: list[Array] = []
        self._G: list[Array] = []
        self._N: list[Array | None] = []  # normalised net inputs (activation inputs)
        self._F: list[Array | None] = []  # activation outputs before dropout and residual
        self._M: list[Array | None] = []  # dropout masks, scaled by 1/(1 − p)
        self._P = np.empty((0, n_outputs), self.dtype)
        self._ones = np.ones(0, self.dtype)
        self._ones_classes = np.ones(n_outputs, self.dtype)

    def _initialise(self, activation: str, init: str, rng: np.random.Generator) -> None:
        """Glorot uniform (as scikit-learn: factor 2 for logistic, else 6), He, LeCun,
        normal variants, or orthogonal; the output layer is Glorot unless orthogonal."""
        if init not in INITS:
            raise ValueError(f"init={init!r} is unknown; expected one of {', '.join(INITS)}")
        scheme = init
        if init == "auto":
            scheme = "he" if activation in RELU_FAMILY else "glorot"
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            fan_out, fan_in = layer.W.shape
            shape = layer.W.shape
            if scheme == "orthogonal":
                gain = np.sqrt(2.0) if activation in RELU_FAMILY and i < last else 1.0
                q, r = np.linalg.qr(rng.standard_normal((max(shape), min(shape))))
                q *= np.sign(np.diag(r))
                layer.W[...] = gain * (q if fan_out >= fan_in else q.T)[:fan_out, :fan_in]
                layer.b[...] = 0.0
            elif i < last and scheme in ("he", "he_normal", "lecun", "glorot_normal"):
                if scheme == "he":
                    layer.W[...] = rng.uniform(-1, 1, shape) * np.sqrt(6.0 / fan_in)
                elif scheme == "he_normal":
                    layer.W[...] = rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)
                elif scheme == "lecun":
                    layer.W[...] = rng.uniform(-1, 1, shape) * np.sqrt(3.0 / fan_in)
                else:
                    layer.W[...] = rng.standard_normal(shape) * np.sqrt(2.0 / (fan_in + fan_out))
                layer.b[...] = 0.0
            else:
                factor = 2.0 if activation == "logistic" else 6.0
                bound = np.sqrt(factor / (fan_in + fan_out))
                layer.W[...] = rng.uniform(-bound, bound, shape)
                layer.b[...] = rng.uniform(-bound, bound, layer.b.shape)
        for act in self.activations:
            if act.params_per_unit:
                act.gamma[...] = act.init_gamma  # type: ignore[attr-defined]
        for norm in self.norms:
            if norm is not None:
                norm.gamma[...] = 1.0
                norm.beta[...] = 0.0

    @property
    def weights(self) -> Array:
        """The weights of every layer as one flat view: what the L2 penalty acts on."""
        return self.theta[: self.n_weights]

    def running_stats(self) -> list[tuple[Array, Array] | None]:
        """Batch normalisation's running mean and variance per layer (for save/restore)."""
        return [None if n is None else (n.running_mean.copy(), n.running_var.copy())
                for n in self.norms]  # fmt: skip

    def load_running_stats(self, stats: list[tuple[Array, Array] | None]) -> None:
        for norm, saved in zip(self.norms, stats, strict=True):
            if norm is not None and saved is not None:
                norm.running_mean[...], norm.running_var[...] = saved

    def _buffers(self, n: int) -> tuple[list[Array], list[Array], list[Array]]:
        """Preallocated Z, A and ∂L/∂A buffers for a batch of ``n`` rows (views)."""
        if n > self._capacity:
            widths = self.sizes[1:]
            self._Z = [np.empty((n, w), self.dtype) for w in widths]
            self._N = [None if norm is None else np.empty((n, w), self.dtype)
                       for norm, w in zip(self.norms, widths, strict=False)]  # fmt: skip
            # The activation writes A directly on the plain path; an identity activation's
            # output is its input (the net input, or the normalised one): share the buffer.
            self._F = []
            for i, act in enumerate(self.activations):
                source = self._Z[i] if self._N[i] is None else self._N[i]
                self._F.append(source if isinstance(act, Identity) else np.empty_like(source))
            self._A = [
                self._F[i] if self._direct[i] else np.empty((n, w), self.dtype)
                for i, w in enumerate(widths[:-1])
            ] + [self._Z[-1]]
            self._M = [None if not p else np.empty((n, w), self.dtype)
                       for p, w in zip(self.dropout, widths, strict=False)]  # fmt: skip
            self._G = [np.empty((n, w), self.dtype) for w in widths[:-1]]
            self._P = np.empty((n, self.sizes[-1]), self.dtype)
            self._ones = np.ones(n, self.dtype)
            self._capacity = n
        if n == self._capacity:
            return self._Z, self._A, self._G
        return [z[:n] for z in self._Z], [a[:n] for a in self._A], [g[:n] for g in self._G]

    def forward(
        self,
        X: Array,
        Z: list[Array] | None = None,
        A: list[Array] | None = None,
        training: bool = False,
    ) -> Array:
        """Outputs ``Z⁽ᴸ⁾`` of a batch; with buffers given, keeps every ``Z⁽ˡ⁾, A⁽ˡ⁾``.

        ``training`` draws dropout masks and normalises with the batch's statistics.
        """
        a = X
        last = len(self.layers) - 1
        n = X.shape[0]
        for i, layer in enumerate(self.layers):
            z = np.matmul(a, layer.W.T, out=None if Z is None else Z[i])
            z += layer.b
            if i == last:
                return z
            act = self.activations[i]
            if self._plain[i]:
                if A is not None:
                    a = act.forward(z, A[i])
                else:
                    a = act.forward(z, z if isinstance(act, Identity) else np.empty_like(z))
                continue
            a = self._hidden_forward(i, z, a, A, n, training)
        return z

    def _hidden_forward(
        self, i: int, z: Array, a_prev: Array, A: list[Array] | None, n: int, training: bool
    ) -> Array:
        """A hidden layer with §4's aids: normalise, activate, drop out, add the input."""
        act, norm = self.activations[i], self.norms[i]
        buffered = A is not None
        pre = z
        if norm is not None:
            pre = norm.forward(z, self._N[i][:n] if buffered else np.empty_like(z), training)
        if buffered:
            f = act.forward(pre, self._F[i][:n])
        else:
            f = act.forward(pre, pre if isinstance(act, Identity) else np.empty_like(pre))
        if self._direct[i]:
            return f
        out = A[i] if buffered else np.empty_like(f)
        p = self.dropout[i]
        if p and training:
            mask = self._mask(i, f.shape)
            np.multiply(f, mask, out=out)
        else:
            out[...] = f
        if self.residual[i]:
            out += a_prev
        return out

    def _mask(self, i: int, shape: tuple[int, ...]) -> Array:
        if self.fixed_masks is not None and self.fixed_masks[i] is not None:
            return self.fixed_masks[i]  # type: ignore[return-value]
        mask = (
            self._M[i][: shape[0]]
            if self._M and self._M[i] is not None
            else np.empty(shape, self.dtype)
        )  # type: ignore[index]
        self.rng.random(out=mask, dtype=mask.dtype)
        p = self.dropout[i]
        keep = mask >= p
        mask[...] = keep
        mask *= 1.0 / (1.0 - p)
        return mask

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
        """Mean loss of the batch; fills ``self.grad`` by backpropagation (no L2)."""
        n = X.shape[0]
        Z, A, G = self._buffers(n)
        outputs = self.forward(X, Z, A, training=True)
        delta = self._P[:n]
        if self.loss == "squared":
            # L = ½‖ŷ − y‖² per row; δ⁽ᴸ⁾ = (ŷ − y) / n for the batch mean.
            np.subtract(outputs, y.reshape(n, -1), out=delta)
            loss = 0.5 * float(np.einsum("ij,ij->", delta, delta)) / n
        else:
            # Softmax with cross-entropy: L = log Σ_c exp(z_c) − z_y, and for the batch mean
            # the last error term is δ⁽ᴸ⁾ = (softmax(z) − onehot(y)) / n.
            log_sums, z_y = self._softmax(outputs, y, delta)
            loss = float(log_sums.sum() - z_y.sum()) / n
            delta[np.arange(n), y] -= 1.0
        delta *= 1.0 / n
        ones = self._ones[:n]
        carry: Array | None = None  # ∂L/∂A⁽ʲ⁾ that a residual connection passes down
        for i in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[i]
            a_prev = X if i == 0 else A[i - 1]
            np.matmul(delta.T, a_prev, out=layer.dW)
            np.matmul(ones, delta, out=layer.db)  # Σ_batch δ, as one BLAS call
            if i > 0:
                g = np.matmul(delta, layer.W, out=G[i - 1])
                if carry is not None:
                    g += carry
                j = i - 1
                if self._plain[j]:
                    delta = self.activations[j].backward(Z[j], A[j], g)
                else:
                    delta, carry = self._hidden_backward(j, Z[j], g, n)
        return loss

    def _hidden_backward(self, j: int, z: Array, g: Array, n: int) -> tuple[Array, Array | None]:
        """``∂L/∂A⁽ʲ⁾`` → ``∂L/∂Z⁽ʲ⁾`` through dropout, activation and normalisation; also
        what a residual connection ``A⁽ʲ⁾ = f(…) + A⁽ʲ⁻¹⁾`` passes to ``∂L/∂A⁽ʲ⁻¹⁾``."""
        carry = g.copy() if self.residual[j] else None
        if self.dropout[j]:
            g *= self._mask_used(j, n)
        norm = self.norms[j]
        pre = z if norm is None else self._N[j][:n]  # type: ignore[index]
        g = self.activations[j].backward(pre, self._F[j][:n], g)
        if norm is not None:
            g = norm.backward(g)
        return g, carry

    def _mask_used(self, j: int, n: int) -> Array:
        if self.fixed_masks is not None and self.fixed_masks[j] is not None:
            return self.fixed_masks[j]  # type: ignore[return-value]
        return self._M[j][:n]  # type: ignore[index]

    def log_proba(self, X: Array) -> Array:
        """Log of the softmax probabilities ŷ for each row of ``X`` (a new array)."""
        logits = self.forward(X)
        logits -= logits.max(axis=1, keepdims=True)
        logits -= np.log(np.exp(logits).sum(axis=1, keepdims=True))
        return logits

    def predict_values(self, X: Array) -> Array:
        """The regression outputs ŷ for each row of ``X`` (a new array)."""
        return self.forward(X).copy()

    def evaluate(self, X: Array, y: Array) -> tuple[float, float]:
        """Classification: mean cross-entropy and accuracy; regression: mean ½‖ŷ − y‖² and
        the mean squared error. Reuses the batch buffers."""
        n = X.shape[0]
        Z, A, _ = self._buffers(n)
        outputs = self.forward(X, Z, A)
        if self.loss == "squared":
            diff = self._P[:n]
            np.subtract(outputs, y.reshape(n, -1), out=diff)
            mse = float(np.einsum("ij,ij->", diff, diff)) / diff.size
            return 0.5 * mse * diff.shape[1], mse
        predicted = outputs.argmax(axis=1)
        log_sums, z_y = self._softmax(outputs, y, self._P[:n])
        return float(log_sums.sum() - z_y.sum()) / n, float(np.count_nonzero(predicted == y)) / n

"""Reference values for gradlift's nn / loss / relax tests, from JAX + optax (f64) and numpy.

Writes tests/nn_common/reference.rs (Rust constants). Rerun after changing an input here:

    /work/venv/bin/python tests/nn_reference.py

Versions used for the committed file are written at its top.
"""

import pathlib

import jax
import numpy as np
import optax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE / "nn_common" / "reference.rs"
DATA = HERE.parent / "data"

consts = []


def emit(name, arr, ty="f64"):
    a = np.asarray(arr)
    flat = a.reshape(-1)
    if ty == "f64":
        body = ", ".join(repr(float(v)) for v in flat)
    else:
        body = ", ".join(str(int(v)) for v in flat)
    shape = ", ".join(str(d) for d in a.shape)
    consts.append(f"/// shape [{shape}]\npub const {name}: [{ty}; {flat.size}] = [{body}];\n")


def elementwise_derivs(f, x):
    """f(x), f'(x), f''(x) elementwise."""
    d1 = jax.grad(lambda v: jnp.sum(f(v)))
    d2 = jax.grad(lambda v: jnp.sum(d1(v)))
    return f(x), d1(x), d2(x)


# ------------------------------------------------------------------ activations
ACT_X = np.array([-1e4, -100.0, -30.0, -5.5, -2.0, -0.7, -0.1, 0.3, 1.1, 2.5, 7.0, 30.0, 100.0, 1e4])
emit("ACT_X", ACT_X)
acts = {
    "RELU": jax.nn.relu,
    "LEAKY_RELU": lambda v: jax.nn.leaky_relu(v, negative_slope=0.01),
    "TANH": jnp.tanh,
    "SIGMOID": jax.nn.sigmoid,
    "GELU": lambda v: jax.nn.gelu(v, approximate=True),
    "SOFTPLUS": jax.nn.softplus,
    "SILU": jax.nn.silu,
}
for name, f in acts.items():
    v, d1, d2 = elementwise_derivs(f, jnp.asarray(ACT_X))
    emit(f"{name}_Y", v)
    emit(f"{name}_D1", d1)
    emit(f"{name}_D2", d2)

# GELU in 80-bit long double, as x σ(2u): the tanh form (JAX's) loses relative precision in the
# left tail (1 + tanh u cancels), so its f64 values there are only good to an absolute ~1e-16.
xl = ACT_X.astype(np.longdouble)
ul = np.sqrt(np.longdouble(2) / np.pi) * (xl + np.longdouble("0.044715") * xl ** 3)
with np.errstate(over="ignore"):
    emit("GELU_Y_PRECISE", (xl / (1 + np.exp(-2 * ul))).astype(np.float64))

# ------------------------------------------------------------------ regression losses
PRED = np.array([0.5, -1.25, 3.0, 2.0, -0.2, 10.0])
TARGET = np.array([0.0, 0.25, 3.5, -1.0, -0.1, 1.0])
emit("REG_PRED", PRED)
emit("REG_TARGET", TARGET)
regs = {
    "MSE": lambda p, t: (p - t) ** 2,
    "MAE": lambda p, t: jnp.abs(p - t),
    "HUBER1": lambda p, t: optax.huber_loss(p, t, delta=1.0),
    "HUBER05": lambda p, t: optax.huber_loss(p, t, delta=0.5),
}
for name, f in regs.items():
    emit(f"{name}_EACH", f(PRED, TARGET))
    emit(f"{name}_GRAD_MEAN", jax.grad(lambda p: jnp.mean(f(p, TARGET)))(jnp.asarray(PRED)))

# ------------------------------------------------------------------ binary cross-entropy
BCE_X = np.array([-1e4, -100.0, -3.0, -0.5, 0.0, 0.5, 2.0, 100.0, 1e4])
BCE_Y = np.array([0.0, 1.0, 0.3, 1.0, 0.0, 0.5, 1.0, 0.0, 1.0])
emit("BCE_X", BCE_X)
emit("BCE_Y", BCE_Y)
bce = lambda x: optax.sigmoid_binary_cross_entropy(x, BCE_Y)
emit("BCE_EACH", bce(BCE_X))
emit("BCE_GRAD_MEAN", jax.grad(lambda x: jnp.mean(bce(x)))(jnp.asarray(BCE_X)))

# ------------------------------------------------------------------ softmax cross-entropy
SCE_LOGITS = np.array([
    [1.0, 2.0, 3.0, 0.5, -1.0],
    [1e4, -1e4, 0.0, 9999.0, 3.0],       # extreme logits
    [2.0, 2.0, 2.0, -3.0, 2.0],          # ties in the maximum
    [-100.0, -100.0, -100.5, -99.0, -250.0],
])
SCE_LABELS = np.array([2, 3, 1, 4], dtype=np.int64)
emit("SCE_LOGITS", SCE_LOGITS)
emit("SCE_LABELS", SCE_LABELS, ty="i64")
sce = lambda x: optax.softmax_cross_entropy_with_integer_labels(x, SCE_LABELS)
emit("SCE_EACH", sce(SCE_LOGITS))
emit("SCE_GRAD_MEAN", jax.grad(lambda x: jnp.mean(sce(x)))(jnp.asarray(SCE_LOGITS)))
emit("LOG_SOFTMAX", jax.nn.log_softmax(SCE_LOGITS, axis=-1))
emit("SOFTMAX", jax.nn.softmax(SCE_LOGITS, axis=-1))
# softmax along axis 0, and the gradient of a weighted sum of it
W = np.arange(20.0).reshape(4, 5) / 10.0
emit("SOFTMAX_AXIS0", jax.nn.softmax(SCE_LOGITS, axis=0))
emit("SOFTMAX_AXIS0_GRAD", jax.grad(lambda x: jnp.sum(W * jax.nn.softmax(x, axis=0)))(jnp.asarray(SCE_LOGITS)))

# ------------------------------------------------------------------ drift MLP forward (numpy)
d = np.load(DATA / "drift_init.npz")
w1, b1, w2, b2, w3, b3 = (d[k].astype(np.float64) for k in ("w1", "b1", "w2", "b2", "w3", "b3"))
MLP_X = np.array([[0.0], [0.25], [0.5], [1.0], [-0.3]])
h = np.maximum(MLP_X @ w1.T + b1, 0.0)
h = np.maximum(h @ w2.T + b2, 0.0)
emit("DRIFT_X", MLP_X)
emit("DRIFT_Y", h @ w3.T + b3)

# ------------------------------------------------------------------ histograms
HIST_X = np.array([-1.5, -1.0, -0.9, -0.2, 0.0, 0.1, 0.45, 0.5, 0.7, 1.3, 1.9, 2.0, 2.2, 2.9, 3.0, 3.4,
                   0.25, -0.6, 1.0, 2.5])
HIST_EDGES = np.array([-1.0, 0.0, 0.5, 2.0, 3.0])
HIST_W = np.linspace(0.5, 2.0, HIST_X.size)
HIST_K = 5.0
emit("HIST_X", HIST_X)
emit("HIST_EDGES", HIST_EDGES)
emit("HIST_W", HIST_W)
emit("HIST_COUNTS", np.histogram(HIST_X, HIST_EDGES)[0].astype(np.float64))
emit("HIST_COUNTS_WEIGHTED", np.histogram(HIST_X, HIST_EDGES, weights=HIST_W)[0])


def soft_hist(x, edges, w):
    s = jax.nn.sigmoid(HIST_K * (x[:, None] - edges[None, :]))
    return jnp.sum(w[:, None] * (s[:, :-1] - s[:, 1:]), axis=0)


emit("SOFT_HIST_K5", soft_hist(HIST_X, HIST_EDGES, np.ones_like(HIST_X)))
emit("SOFT_HIST_K5_WEIGHTED", soft_hist(HIST_X, HIST_EDGES, HIST_W))
C = np.array([1.0, -2.0, 0.5, 3.0])  # a linear functional of the counts, to differentiate
obj = lambda x, e: jnp.sum(C * soft_hist(x, e, jnp.asarray(HIST_W)))
gx, ge = jax.grad(obj, argnums=(0, 1))(jnp.asarray(HIST_X), jnp.asarray(HIST_EDGES))
emit("SOFT_HIST_C", C)
emit("SOFT_HIST_GRAD_X", gx)
emit("SOFT_HIST_GRAD_EDGES", ge)

header = (
    "//! Generated by tests/nn_reference.py: do not edit by hand.\n"
    f"//! jax {jax.__version__}, optax {optax.__version__}, numpy {np.__version__}; float64 throughout.\n"
    "#![allow(dead_code, clippy::approx_constant, clippy::excessive_precision)]\n\n"
)
OUT.parent.mkdir(exist_ok=True)
OUT.write_text(header + "\n".join(consts))
print(f"wrote {OUT} ({len(consts)} constants)")

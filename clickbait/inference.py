"""The saved text model (strings -> metric embeddings) run in numpy, without TensorFlow.

Batch scoring spent its start-up importing TensorFlow and much of its time in the
encoder; neither is needed to score. `NumpyTextModel` reads the layers and weights of a saved
`model.keras` (its config.json and model.weights.h5, through zipfile and h5py), tokenizes with
`clickbait.tokens` (the model's own rules, applied in Python), and computes the encoder with
numpy. tests/test_inference.py checks it against the Keras model (embeddings within 1e-6).

What it runs (anything else raises `UnsupportedModel`, and the scorer then uses TensorFlow, with
the same answers, only slower): a TextVectorization with clickbait's `standardize`, whitespace
split and a vocabulary list, then a functional network made of
    Embedding -> [SpatialDropout1D / Dropout] -> Conv1D ('same', stride 1, each read only by a
    GlobalMaxPooling1D) -> Concatenate -> Dense... -> UnitNormalization
in any number and order of branches and Dense layers (the CNN encoder of model.py). A GRU, or a
second input such as a character n-gram branch, is not covered yet.

The convolutions are computed from tables: a width-w Conv1D over embedding rows is a sum of w
per-word products (word vector x kernel tap), so each tap's product is computed once per
vocabulary word at load (vocabulary x filters floats per tap) and a headline's convolution is
a sum of table rows, max-pooled position by position: no multiply at scoring time. There is one
table per tap position (`tables`, see `_layout`), so that all the convs' windows are summed with
one gather and one add per tap over every position at once, on contiguous memory (the work is
bound by memory, not arithmetic); `embed_reference` keeps the first, one-window-at-a-time version.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from . import tokens

_IDENTITY = {"SpatialDropout1D", "Dropout", "InputLayer"}
_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0, out=x),
    "tanh": np.tanh,
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
}


class UnsupportedModel(ValueError):
    """The saved model has a layer or setting the numpy path does not run (use TensorFlow)."""


def _snake(name: str) -> str:
    """keras.src.utils.naming.to_snake_case: the names Keras gives layers inside weights.h5."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _h5_paths(layers: list[dict], prefix: str) -> dict[str, str]:
    """Layer name -> its group in model.weights.h5: Keras saves a model's layers in order under
    their class name in snake case, numbered from the second one of a class on (saving_lib)."""
    used: dict[str, int] = {}
    out = {}
    for layer in layers:
        base = _snake(layer["class_name"])
        used[base] = used.get(base, -1) + 1
        out[layer["config"]["name"]] = f"{prefix}/{base}" + (f"_{used[base]}" if used[base] else "")
    return out


def _inputs(layer: dict) -> list[str]:
    """Names of the layers feeding `layer` (Keras 3 functional config)."""
    names = []

    def walk(x):
        if isinstance(x, dict):
            if x.get("class_name") == "__keras_tensor__":
                names.append(x["config"]["keras_history"][0])
            else:
                for v in x.values():
                    walk(v)
        elif isinstance(x, (list, tuple)):
            for v in x:
                walk(v)

    for node in layer.get("inbound_nodes", []):
        walk(node.get("args", []))
    return names


def _layout(convs: Sequence[_Conv]) -> list[tuple[int, int]]:
    """The table's column order, as (tap, conv index) pairs: tap 0 of every conv, then tap 1 of
    the convs wider than 1, and so on, the convs by width (stable). Each tap's convs are then a
    suffix of tap 0's, so one add per tap (all convs at once) sums a window's taps in place."""
    order = sorted(range(len(convs)), key=lambda i: convs[i].width)
    return [(j, i) for j in range(max((c.width for c in convs), default=0))
            for i in order if convs[i].width > j]


def _refs(x: list) -> list:
    """A functional config's input/output layers: [name, node, index], or a list of those."""
    x = list(x)
    return [x] if x and isinstance(x[0], str) else x


@dataclass
class _Conv:
    """A Conv1D + GlobalMaxPooling1D pair: its taps are column blocks of the model's table."""

    name: str
    width: int
    columns: list[slice]  # one per tap, into the table
    bias: np.ndarray
    activation: str


@dataclass
class NumpyTextModel:
    """Headline strings -> metric embeddings, as the saved Keras text model computes them."""

    vocabulary: dict[str, int]
    length: int
    # (vocabulary + 1) x taps*filters: word vector x each conv tap, the last row 0; split into
    # `tables` at construction (then None), or None when `tables` is given
    table: np.ndarray | None
    convs: list[_Conv]
    steps: list[tuple[str, object]] = field(default_factory=list)  # after the pooled convs
    block: int = 1024  # rows per pass of the dense layers (bigger matrix products)
    gather: int = 32  # rows per gather of table rows (see `embed`)
    tables: list[np.ndarray] | None = None  # `table`'s columns tap by tap (`_layout`), one each

    # -- loading --------------------------------------------------------------------------------
    @classmethod
    def from_bytes(cls, data: bytes) -> NumpyTextModel:
        """From the bytes of a `model.keras` file (a zip: config.json and model.weights.h5)."""
        import h5py

        with zipfile.ZipFile(io.BytesIO(data)) as z:
            config = json.loads(z.read("config.json"))
            weights = h5py.File(io.BytesIO(z.read("model.weights.h5")), "r")
        with weights:
            outer = config["config"]["layers"]
            paths = _h5_paths(outer, "layers")
            inner_paths: dict[str, str] = {}
            for layer in outer:
                if layer["class_name"] == "Functional":
                    prefix = paths[layer["config"]["name"]] + "/layers"
                    inner_paths = _h5_paths(layer["config"]["layers"], prefix)

            def read(name: str) -> list[np.ndarray]:
                group = weights.get(f"{inner_paths[name]}/vars")
                if group is None:
                    raise UnsupportedModel(f"no weights for layer {name!r} in model.keras")
                return [np.asarray(group[str(i)]) for i in range(len(group))]

            return cls.from_config(config, read)

    @classmethod
    def from_keras(cls, model) -> NumpyTextModel:
        """From an in-memory Keras text model (`build_text_model`'s)."""
        config = {"class_name": "Functional", "config": model.get_config()}
        network = model.get_layer(index=-1)
        by_name = {la.name: la for la in network.layers}
        return cls.from_config(config, lambda name: [np.asarray(w) for w in by_name[name].get_weights()])

    @classmethod
    def from_config(cls, config: dict, weights: Callable[[str], list[np.ndarray]]) -> NumpyTextModel:
        """From a text model's Keras config and a function giving a layer's weights by name."""
        layers = config["config"]["layers"]
        kinds = [la["class_name"] for la in layers]
        if kinds != ["InputLayer", "TextVectorization", "Functional"]:
            raise UnsupportedModel(f"expected a string input, a TextVectorization and a network; got {kinds}")
        tv = layers[1]["config"]
        standardize = tv.get("standardize")
        if not (isinstance(standardize, dict) and standardize.get("config") == "clickbait>standardize"):
            raise UnsupportedModel(f"the text standardisation is {standardize!r}, not clickbait's")
        if not tokens.matches_rules():
            raise UnsupportedModel("clickbait.tokens does not implement the current token rules")
        if (tv.get("split") != "whitespace" or tv.get("ngrams") or tv.get("output_mode") != "int"
                or not isinstance(tv.get("vocabulary"), list) or not tv.get("output_sequence_length")):
            raise UnsupportedModel("the TextVectorization settings are not the ones the numpy path runs")
        vocabulary = {w: i + 2 for i, w in enumerate(tv["vocabulary"])}
        if len(vocabulary) != len(tv["vocabulary"]) or "" in vocabulary or "[UNK]" in vocabulary:
            raise UnsupportedModel("the vocabulary holds duplicates or the padding/OOV tokens")
        return cls._network(layers[2]["config"], weights, vocabulary, int(tv["output_sequence_length"]))

    @classmethod
    def _network(cls, net: dict, weights, vocabulary: dict[str, int], length: int) -> NumpyTextModel:
        layers = {la["config"]["name"]: la for la in net["layers"]}
        order = [la["config"]["name"] for la in net["layers"]]
        feeds = {name: _inputs(layers[name]) for name in order}
        readers: dict[str, list[str]] = {name: [] for name in order}
        for name, srcs in feeds.items():
            for s in srcs:
                readers[s].append(name)
        ins, outs = (_refs(net.get(k, [])) for k in ("input_layers", "output_layers"))
        if len(ins) != 1 or len(outs) != 1:
            raise UnsupportedModel("the network must have one input and one output")

        def source(name: str) -> str:  # through identity layers
            while layers[name]["class_name"] in _IDENTITY - {"InputLayer"}:
                (name,) = feeds[name]
            return name

        embedding = None
        convs: list[_Conv] = []
        kernels: list[np.ndarray] = []  # (width, embedding dim, filters), one per conv
        values: dict[str, object] = {}  # layer name -> "pooled:<conv>" or a step index
        steps: list[tuple[str, object]] = []
        for name in order:
            layer, kind = layers[name], layers[name]["class_name"]
            cfg = layer["config"]
            if kind == "InputLayer":
                continue
            if kind == "Embedding":
                if embedding is not None or layers[source(feeds[name][0])]["class_name"] != "InputLayer":
                    raise UnsupportedModel("one Embedding, on the input, is supported")
                (embedding,) = weights(name)
                if embedding.shape[0] != len(vocabulary) + 2:
                    raise UnsupportedModel(f"embedding rows {embedding.shape[0]} != vocabulary + 2")
            elif kind in _IDENTITY:
                continue
            elif kind == "Conv1D":
                if (cfg.get("padding") != "same" or tuple(cfg.get("strides", (1,))) != (1,)
                        or tuple(cfg.get("dilation_rate", (1,))) != (1,) or cfg.get("groups", 1) != 1
                        or cfg.get("activation") not in _ACTIVATIONS or embedding is None
                        or layers[source(feeds[name][0])]["class_name"] != "Embedding"
                        or [layers[r]["class_name"] for r in readers[name]] != ["GlobalMaxPooling1D"]):
                    raise UnsupportedModel(f"Conv1D {name!r}: only 'same' convolutions over the "
                                           "word vectors, each max-pooled over time, are supported")
                kernel, *rest = weights(name)
                bias = rest[0] if cfg.get("use_bias", True) else np.zeros(kernel.shape[2], "float32")
                kernels.append(kernel)
                convs.append(_Conv(name, kernel.shape[0], [], bias.astype("float32"), cfg["activation"]))
            elif kind == "GlobalMaxPooling1D":
                if cfg.get("keepdims") or layers[feeds[name][0]]["class_name"] != "Conv1D":
                    raise UnsupportedModel(f"GlobalMaxPooling1D {name!r} must pool a Conv1D")
                values[name] = ("pooled", feeds[name][0])
            elif kind == "Concatenate":
                if cfg.get("axis", -1) not in (-1, 1):
                    raise UnsupportedModel("Concatenate must join features (axis -1)")
                steps.append(("concat", [source(s) for s in feeds[name]]))
                values[name] = len(steps) - 1
            elif kind == "Dense":
                if cfg.get("activation") not in _ACTIVATIONS:
                    raise UnsupportedModel(f"Dense {name!r}: activation {cfg.get('activation')!r}")
                kernel, *rest = weights(name)
                bias = rest[0] if cfg.get("use_bias", True) else np.zeros(kernel.shape[1], "float32")
                steps.append(("dense", (source(feeds[name][0]), kernel, bias, cfg["activation"])))
                values[name] = len(steps) - 1
            elif kind == "UnitNormalization":
                if cfg.get("axis", -1) not in (-1, 1, [-1], [1]):
                    raise UnsupportedModel("UnitNormalization must normalise features")
                steps.append(("l2", source(feeds[name][0])))
                values[name] = len(steps) - 1
            else:
                raise UnsupportedModel(f"layer {name!r} ({kind}) is not supported by the numpy path")
        if not convs:
            raise UnsupportedModel("no Conv1D encoder")
        output = source(outs[0][0])
        if not steps or values.get(output) != len(steps) - 1:
            raise UnsupportedModel("the network's output must be its last layer")
        # Steps read either an earlier step (by index) or a pooled convolution (by conv name).
        resolved = []
        for op, arg in steps:
            def ref(n):
                v = values[n]
                return v if isinstance(v, int) else ("conv", v[1])
            if op == "concat":
                resolved.append((op, [ref(n) for n in arg]))
            elif op == "dense":
                resolved.append((op, (ref(arg[0]), *arg[1:])))
            else:
                resolved.append((op, ref(arg)))
        # One product for every tap: (vocabulary x dim) @ (dim x taps*filters), the taps in the
        # fused layout (`_layout`); the extra last row (zeros) stands for the positions beyond a
        # headline's ends ('same' padding).
        # Built tap by tap (`tables`), never as one (vocabulary x all columns) table.
        taps: list[list[np.ndarray]] = [[] for _ in range(max(c.width for c in convs))]
        columns = 0
        for j, i in _layout(convs):
            taps[j].append(kernels[i][j])
            convs[i].columns.append(slice(columns, columns + len(convs[i].bias)))
            columns += len(convs[i].bias)
        tables = []
        for group in taps:
            t = np.empty((len(embedding) + 1, sum(k.shape[1] for k in group)), "float32")
            kernel = np.concatenate(group, axis=1).astype("float32")
            np.matmul(embedding.astype("float32", copy=False), kernel, out=t[:-1])
            t[-1] = 0
            tables.append(t)
        return cls(vocabulary, length, None, convs, resolved, tables=tables)

    # -- computing ------------------------------------------------------------------------------
    @property
    def margin(self) -> int:
        """Positions past a block's longest headline that keep every distinct window (see
        scoring._padding_margin: the padding-only and the end-of-sequence windows)."""
        return max(c.width for c in self.convs)

    def ids(self, texts: Sequence[str]) -> np.ndarray:
        """Token ids (n x length), exactly as the model's TextVectorization gives them."""
        return tokens.ids(texts, self.vocabulary, self.length)

    def embed(self, ids: np.ndarray) -> np.ndarray:
        """Metric embeddings (n x dim, float32) of token-id rows (trailing padding).

        Rows go by length (so a block's rows need about the same positions) in blocks of
        `block` for the dense layers (bigger matrix products), and in sub-blocks of `gather`
        rows for the convolutions, whose gathered rows (positions x rows x columns) then stay
        in cache, in buffers allocated once per call (bound by memory, not arithmetic)."""
        n = len(ids)
        if not n:
            return np.zeros((0, 0), "float32")
        lengths = (ids != 0).sum(axis=1)
        order = np.argsort(lengths, kind="stable")
        most = min(ids.shape[1], int(lengths.max()) + self.margin) + self._left + self._width - 1
        size = most * min(self.gather, n)
        bufs = [np.empty(size * t.shape[1], "float32") for t in self.tables]
        out = None
        for s in range(0, n, self.block):
            sel = order[s:s + self.block]
            rows, lens = ids[sel], lengths[sel]
            pooled = {c.name: np.empty((len(sel), len(c.bias)), "float32") for c in self.convs}
            for g in range(0, len(sel), self.gather):
                self._pool(rows[g:g + self.gather], int(lens[g:g + self.gather].max()), bufs,
                           {k: v[g:g + self.gather] for k, v in pooled.items()})
            for c in self.convs:  # as the reference: act(max + bias)
                pooled[c.name] = _ACTIVATIONS[c.activation](pooled[c.name] + c.bias)
            emb = self._head(pooled)
            if out is None:
                out = np.empty((n, emb.shape[1]), "float32")
            out[sel] = emb
        return out

    def __post_init__(self) -> None:
        """Split `table` into `tables`, one per tap in the fused layout (`_layout`), and drop it."""
        planned, start = [], 0
        for j, i in _layout(self.convs):
            planned.append((j, i, slice(start, start + len(self.convs[i].bias))))
            start += len(self.convs[i].bias)
        self._width = max((c.width for c in self.convs), default=1)
        self._left = max(((c.width - 1) // 2 for c in self.convs), default=0)
        if self.tables is None:
            parts: list[list[np.ndarray]] = [[] for _ in range(self._width)]
            convs = [replace(c, columns=[]) for c in self.convs]
            for j, i, cols in planned:
                parts[j].append(self.table[:, self.convs[i].columns[j]])
                convs[i].columns.append(cols)
            self.tables = [np.ascontiguousarray(np.concatenate(p, axis=1)) for p in parts]
            self.convs, self.table = convs, None
        # where each tap's table starts in the whole layout
        self._starts = [min(self.convs[i].columns[j].start for jj, i, _ in planned if jj == j)
                        for j in range(self._width)]

    def _pool(self, ids: np.ndarray, longest: int, bufs: list[np.ndarray],
              pooled: dict[str, np.ndarray]) -> None:
        """Max over time of each conv (bias and activation aside) into `pooled`, for one sub-block.

        Window e (in the padded positions) of a width-w conv is the sum of its taps' rows at
        e, e+1, ..., e+w-1. Tap j's table holds tap j of the convs wider than j, which are the
        last convs of tap j-1's table (`_layout`): so, over all windows at once, sums[j] = tap j
        gathered at e+j, plus the matching columns of sums[j-1]; a conv's sum is in sums[w-1].
        Each gather fills a contiguous buffer (the adds then run on contiguous memory), and the
        sums are the reference's bit for bit (tap j + (... + tap 0): float addition commutes)."""
        b, full = ids.shape
        cut = min(full, longest + self.margin)  # exact: see `margin`
        left, zero = self._left, len(self.tables[0]) - 1
        windows = cut + left
        ext = np.full((windows + self._width - 1, b), zero, dtype=np.intp)
        ext[left:left + cut] = ids[:, :cut].T
        sums: list[np.ndarray] = []
        for j, table in enumerate(self.tables):
            width = table.shape[1]
            acc = bufs[j][:windows * b * width].reshape(windows, b, width)
            np.take(table, ext[j:j + windows], axis=0, out=acc, mode="clip")  # "raise" would copy
            if j:
                acc += sums[-1][:, :, sums[-1].shape[2] - width:]
            sums.append(acc)
        for c in self.convs:
            first, j = left - (c.width - 1) // 2, c.width - 1
            lo = c.columns[j].start - self._starts[j]
            np.max(sums[j][first:first + cut, :, lo:lo + len(c.bias)], axis=0, out=pooled[c.name])

    def _head(self, pooled: dict[str, np.ndarray]) -> np.ndarray:
        """The layers after the pooled convolutions (concatenate, dense, normalise)."""
        outputs: list[np.ndarray] = []

        def get(ref):
            return pooled[ref[1]] if isinstance(ref, tuple) else outputs[ref]

        for op, arg in self.steps:
            if op == "concat":
                outputs.append(np.concatenate([get(r) for r in arg], axis=1))
            elif op == "dense":
                src, kernel, bias, activation = arg
                # in float64: a float32 BLAS product's rounding varies with the number of rows
                # (its kernels block differently), and a headline's embedding must not depend on
                # the batch it came in (near-tied neighbours would swap; tests/test_index.py)
                outputs.append(_ACTIVATIONS[activation](get(src).astype("float64") @ kernel.astype("float64")
                                                        + bias))
            else:  # l2, as keras.ops.normalize: x * min(rsqrt(sum x^2), 1 / 1e-12)
                x = get(arg)
                with np.errstate(divide="ignore"):
                    inv = np.minimum(1 / np.sqrt((x * x).sum(axis=1, keepdims=True)), 1e12)
                outputs.append((x * inv).astype("float32"))
        return outputs[-1]

    # -- the reference: the straightforward encoder, kept for tests and benchmarks -----------------
    def embed_reference(self, ids: np.ndarray) -> np.ndarray:
        """`embed` as first written (a copy and an add per window and tap, one conv at a time):
        tests/test_speed_equivalence.py holds `embed` to it."""
        n = len(ids)
        lengths = (ids != 0).sum(axis=1) if n else np.zeros(0, int)
        order = np.argsort(lengths, kind="stable")
        out = None
        for s in range(0, n, self.block):
            sel = order[s:s + self.block]
            emb = self._embed_block_reference(ids[sel], int(lengths[sel].max()) if len(sel) else 0)
            if out is None:
                out = np.empty((n, emb.shape[1]), "float32")
            out[sel] = emb
        return out if out is not None else np.zeros((0, 0), "float32")

    def _whole_table(self) -> np.ndarray:
        """The whole table (`tables` side by side, in `_layout` order), built on first use and
        kept: the reference's memory, for tests and benchmarks only."""
        if getattr(self, "_whole", None) is None:
            self._whole = np.concatenate(self.tables, axis=1)
        return self._whole

    def _embed_block_reference(self, ids: np.ndarray, longest: int) -> np.ndarray:
        b, full = ids.shape
        cut = min(full, longest + self.margin)  # exact: see `margin`
        table = self._whole_table()
        zero = len(table) - 1
        left = max((c.width - 1) // 2 for c in self.convs)
        right = max(c.width - 1 - (c.width - 1) // 2 for c in self.convs)
        ext = np.full((left + cut + right, b), zero, dtype=np.intp)
        ext[left:left + cut] = ids[:, :cut].T
        rows = np.take(table, ext, axis=0)  # positions x rows x columns
        pooled = {}
        for c in self.convs:
            lo = left - (c.width - 1) // 2
            best = acc = None
            for t in range(cut):
                acc = rows[lo + t, :, c.columns[0]].copy()
                for j in range(1, c.width):
                    acc += rows[lo + t + j, :, c.columns[j]]
                best = acc if best is None else np.maximum(best, acc, out=best)
            # max_t act(x_t + b) = act(max_t x_t + b) for the monotone activations supported
            pooled[c.name] = _ACTIVATIONS[c.activation](best + c.bias)
        return self._head(pooled)

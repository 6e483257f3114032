"""Subword evidence: the product's words-only encoder against the same encoder
plus a fastText-style bag of hashed character n-grams, on several seeds, both voted by the product.

    nice .venv/bin/python benchmarks/bench_subword.py --seeds 0 1 2

Per seed: (a) `ClickbaitDetector(seed=s).fit(train, validation=valid)` with default parameters
(the product's encoder as `make train` trains it); (b) the same word trunk (clickbait.model's
`build_encoder` CNN, from the same initial GloVe matrix) with a bag of hashed character 3-5-grams
of each `<word>` of the standardised headline (2^17 buckets, 32-d, masked mean) concatenated
before the hidden layer, trained like `fit` trains (same loss, optimiser, early stopping, seed).
For BOTH, the vote is the product's: a CaseBase of train + valid cases, `class_neighbours` (each
validation headline without itself), `evidence`, `Combiner.fit`; P(clickbait) is the combiner's
(the text-level headline check is left out: it is not what the encoders change). Reported:
corpus test ROC-AUC, accuracy at 0.5 and ECE; downs2014 ROC-AUC and the share of its NYT rows
at P >= 0.5; next to the TF-IDF baseline (clickbait.baseline) fitted on the corpus train split
in the same run. Results: benchmarks/results/subword.json; intermediates under --work.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

NGRAMS = (3, 5)  # character n-gram lengths, fastText's default
BUCKETS = 2 ** 17  # hash buckets; id 0 pads
NGRAM_DIM = 32
MAX_GRAMS = 256  # n-grams kept per headline: cuts 0.1% of corpus rows, 0.2% of downs2014 rows
ENCODERS = ("words", "words+ngrams")


def ngram_ids(texts: Sequence[str], buckets: int = BUCKETS, length: int = MAX_GRAMS,
              chunk: int = 4096) -> np.ndarray:
    """n x `length` ids (1..buckets, 0 pads at the end) of the hashed character n-grams of each
    `<word>` of the headline, standardised as the model reads it (FarmHash: the same ids in
    every process)."""
    import tensorflow as tf

    from clickbait.text import standardize

    out = [np.zeros((0, length), "int64")]
    for start in range(0, len(texts), chunk):
        words = tf.strings.split(standardize(tf.constant(list(texts[start:start + chunk]))))
        chars = tf.strings.unicode_split(tf.strings.join(["<", words, ">"]), "UTF-8")
        grams = tf.concat([tf.strings.ngrams(chars, n, separator="")
                           for n in range(NGRAMS[0], NGRAMS[1] + 1)], axis=2).merge_dims(1, 2)
        ids = tf.strings.to_hash_bucket_fast(grams, buckets) + 1
        out.append(ids.to_tensor(shape=[None, length]).numpy())
    return np.concatenate(out)


def initial_matrix(det, texts: Sequence[str]) -> np.ndarray:
    """The word vectors `det.fit(texts, ...)` started from (its vocabulary, its random rows)."""
    from clickbait.text import PAD, UNK, build_vocabulary
    from clickbait.vectors import embedding_matrix, read_vectors

    train_words, counts = build_vocabulary(texts)
    vectors = read_vectors(det.vectors, train_words, top_n=det.pretrained_top_n, cache_dir=det.cache_dir)
    words, _ = build_vocabulary(counts, extra=vectors.words)
    if words != list(det.vocabulary_):
        raise RuntimeError("the rebuilt vocabulary differs from the detector's")
    return embedding_matrix([PAD, UNK, *words], vectors, seed=det.seed, counts=counts)[0]


def fit_ngram_encoder(det, matrix: np.ndarray, x: tuple, y: np.ndarray, x_val: tuple,
                      y_val: np.ndarray):
    """(b): the product's CNN word trunk + the n-gram bag, trained as `det.fit` trains."""
    import keras

    from clickbait.losses import get_loss
    from clickbait.model import build_encoder
    from clickbait.seeding import seeded

    with seeded(det.seed):
        words = build_encoder(matrix, length=det.length, encoder="cnn", dim=det.dim, hidden=det.hidden,
                              filters=det.filters, dropout=det.dropout, trainable=det.trainable)
        grams = keras.Input((MAX_GRAMS,), dtype="int64", name="grams")
        bag = keras.layers.Embedding(BUCKETS + 1, NGRAM_DIM, mask_zero=True, name="ngram_vectors")(grams)
        h = keras.layers.Concatenate()([words.get_layer("ngrams").output,
                                        keras.layers.GlobalAveragePooling1D()(bag)])
        h = keras.layers.Dense(det.hidden, activation="relu")(keras.layers.Dropout(det.dropout)(h))
        out = keras.layers.UnitNormalization()(keras.layers.Dense(det.dim)(h))
        net = keras.Model([words.input, grams], out)
        net.compile(optimizer=keras.optimizers.Adam(det.learning_rate),
                    loss=get_loss(det.loss, det.margin, det.positive_margin))
        net.fit(list(x), y, validation_data=(list(x_val), y_val), epochs=det.epochs,
                batch_size=det.batch_size, shuffle=True, verbose=0,
                callbacks=[keras.callbacks.EarlyStopping(patience=det.patience, restore_best_weights=True)])
    return net


def vote(emb: dict, data: dict, k: int):
    """The product's vote on these embeddings: cases = train + valid; the combiner fitted on the
    validation headlines without themselves; returns (P(clickbait) per query set, combiner)."""
    from clickbait.cases import CaseBase, class_neighbours
    from clickbait.vote import Combiner, evidence

    cases = CaseBase.empty(emb["train"].shape[1])
    cases.add(emb["train"], data["train"][1], data["train"][0], source="train")
    own = cases.add(emb["valid"], data["valid"][1], data["valid"][0], source="validation")
    nb = class_neighbours([cases], [1.0], emb["valid"], k, exclude=own)
    combiner = Combiner.fit(evidence(nb), data["valid"][1])
    proba = {name: combiner.proba(evidence(class_neighbours([cases], [1.0], emb[name], k)))
             for name in ("test", "downs")}
    return proba, combiner


def metrics(data: dict, nyt: np.ndarray, proba: dict) -> dict:
    from sklearn.metrics import roc_auc_score

    from clickbait.reports import expected_calibration_error

    y, p = data["test"][1], proba["test"]
    return {"test_auc": float(roc_auc_score(y, p)), "test_accuracy": float(((p >= 0.5) == y).mean()),
            "test_ece": expected_calibration_error(y, p),
            "downs_auc": float(roc_auc_score(data["downs"][1], proba["downs"])),
            "nyt_flagged": float((proba["downs"][nyt] >= 0.5).mean())}


COLUMNS = {"test_auc": "test ROC-AUC", "test_accuracy": "test acc @0.5", "test_ece": "test ECE",
           "downs_auc": "downs2014 ROC-AUC", "nyt_flagged": "NYT flagged @0.5"}


def table(runs: list[dict], baseline: dict) -> tuple[str, dict]:
    """The markdown table (each seed, then medians and max - min) and the medians."""
    def row(name, seed, m):
        cells = [f"{m[c]:.1%}" if c == "nyt_flagged" else f"{m[c]:.4f}" for c in COLUMNS]
        return f"| {name} | {seed} | " + " | ".join(cells) + " |"

    lines = ["| encoder | seed | " + " | ".join(COLUMNS.values()) + " |",
             "|---|---|" + "---:|" * len(COLUMNS)]
    medians = {}
    for enc in ENCODERS:
        got = [r for r in runs if r["encoder"] == enc]
        lines += [row(enc, r["seed"], r) for r in got]
        medians[enc] = {c: float(np.median([r[c] for r in got])) for c in COLUMNS}
    for enc in ENCODERS:
        got = [r for r in runs if r["encoder"] == enc]
        lines.append(row(enc, "median", medians[enc]))
        spread = {c: max(r[c] for r in got) - min(r[c] for r in got) for c in COLUMNS}
        lines.append(row(enc, "max - min", spread))
    lines.append(row("TF-IDF + LR (same run)", "-", baseline))
    return "\n".join(lines), medians


def main() -> int:
    from clickbait.data import DEFAULT_DATA_DIR

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "subword.json")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "subword",
                        help="intermediates: vectors cache, each run's embeddings")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--vectors", default=str(ROOT / "pretrained" / "glove.6B.50d.txt"))
    parser.add_argument("--reuse", action="store_true",
                        help="reuse embeddings saved in --work by an earlier run instead of training")
    args = parser.parse_args()
    command = shlex.join([Path(sys.executable).name, *sys.argv])

    from clickbait.baseline import tfidf_baseline
    from clickbait.data import load_split
    from clickbait.detector import ClickbaitDetector
    from clickbait.model import vectorizer_layer
    from clickbait.text import encode

    data = {s: load_split(s, args.data_dir) for s in ("train", "valid", "test")}
    downs = pd.read_csv(args.data_dir / "downs2014.csv", keep_default_na=False, dtype={"headline": str})
    data["downs"] = (downs["headline"].tolist(), downs["label"].to_numpy("int64"))
    nyt = (downs["site"] == "nytimes").to_numpy()
    args.work.mkdir(parents=True, exist_ok=True)
    results = {"command": command, "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
               "load_average": os.getloadavg(), "ngrams": list(NGRAMS), "buckets": BUCKETS,
               "ngram_dim": NGRAM_DIM, "downs_rows": len(downs), "nyt_rows": int(nyt.sum()), "runs": []}

    started = time.perf_counter()
    base = tfidf_baseline(*data["train"])
    results["baseline"] = metrics(data, nyt, {s: base.predict_proba(data[s][0])[:, 1]
                                              for s in ("test", "downs")})
    results["baseline"]["fit_seconds"] = time.perf_counter() - started
    print(f"TF-IDF baseline: {results['baseline']}", flush=True)

    ngrams = None  # the n-gram ids do not depend on the seed
    for seed in args.seeds:
        det = ClickbaitDetector(args.vectors, seed=seed, cache_dir=str(args.work / "vectors"))
        paths = {enc: args.work / f"{enc.replace('+', '_')}_seed{seed}.npz" for enc in ENCODERS}
        reuse = args.reuse and all(p.is_file() for p in paths.values())
        for enc in ENCODERS:
            seconds = None
            if reuse:
                with np.load(paths[enc]) as z:
                    emb = {s: z[s] for s in data}
            elif enc == "words":  # (a) the product, as it trains
                t = time.perf_counter()
                det.fit(*data["train"], validation=data["valid"])
                seconds = time.perf_counter() - t
                emb = {s: det.transform(data[s][0]) for s in data}
            else:  # (b) the same word trunk and initial vectors + the n-gram bag
                if ngrams is None:
                    ngrams = {s: ngram_ids(data[s][0]) for s in data}
                x = {s: (encode(vectorizer_layer(det.model_), data[s][0]), ngrams[s]) for s in data}
                t = time.perf_counter()
                net = fit_ngram_encoder(det, initial_matrix(det, data["train"][0]), x["train"],
                                        data["train"][1], x["valid"], data["valid"][1])
                seconds = time.perf_counter() - t
                emb = {s: net.predict(list(x[s]), batch_size=2048, verbose=0) for s in data}
            np.savez(paths[enc], **emb)
            proba, combiner = vote(emb, data, det.k)
            run = {"encoder": enc, "seed": seed, **metrics(data, nyt, proba), "fit_seconds": seconds,
                   "combiner": combiner.to_dict()}
            if enc == "words" and seconds is not None:  # the vote above is the product's own
                run["same_combiner_as_product"] = bool(np.allclose(combiner.coef, det.combiner_.coef,
                                                                   rtol=1e-4, atol=1e-6))
            results["runs"].append(run)
            print(f"seed {seed} {enc}: " + ", ".join(f"{c} {run[c]:.4f}" for c in COLUMNS)
                  + (f"; fit {seconds:.0f} s" if seconds else ""), flush=True)

    markdown, results["medians"] = table(results["runs"], results["baseline"])
    results["markdown"] = markdown
    results["seconds"] = time.perf_counter() - started
    print(markdown)
    from clickbait.reports import write_json

    write_json(results, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

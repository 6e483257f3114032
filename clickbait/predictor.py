"""The one prediction path: headlines -> token ids -> metric embeddings -> the detector's vote.

Every way of scoring goes through a `Predictor` owned by the detector (`det.predictor_`):
`predict_proba`, `predict`, `assess`, `evidence`, `explain`, `score_frame`, `score_csv`, the
CLI, and `BatchScorer` (Spark, Dask). It runs the text model in numpy (clickbait/inference.py:
the model's own tokenizer rules, clickbait/tokens.py, and its encoder from the saved weights;
equal to Keras within 1e-6, tests/test_inference.py), so a notebook, the CLI and a cluster give
the same numbers and none of them imports TensorFlow. TensorFlow remains for training and for
an encoder numpy does not run (the GRU), through the Keras model itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .inference import NumpyTextModel, UnsupportedModel

if TYPE_CHECKING:  # pragma: no cover
    from .trained import TrainedDetector
    from .vote import Decision

ENCODERS = ("auto", "numpy", "tensorflow")


class Predictor:
    """Token ids and embeddings of headlines for one detector's network, and its decision.

    encoder: "auto" (numpy when the model's layers are ones clickbait.inference runs, else
    TensorFlow), "numpy" (raises `UnsupportedModel` otherwise) or "tensorflow" (Keras)."""

    def __init__(self, detector: TrainedDetector, encoder: str = "auto"):
        if encoder not in ENCODERS:
            raise ValueError(f"encoder must be one of {ENCODERS}, got {encoder!r}")
        self.detector = detector
        self.runtime: NumpyTextModel | None = None
        if encoder != "tensorflow":
            try:  # a network in memory (fitted, learned) or the verified bytes of a loaded one
                self.runtime = (NumpyTextModel.from_keras(detector.model_) if "model_" in detector.__dict__
                                else NumpyTextModel.from_bytes(detector._keras_bytes))
            except UnsupportedModel:
                if encoder == "numpy":
                    raise
        self.encoder = "numpy" if self.runtime is not None else "tensorflow"

    def ids(self, texts: Sequence[str]) -> np.ndarray:
        """Token ids (n x length, int64), as the model's TextVectorization gives them."""
        if self.runtime is not None:
            return self.runtime.ids(list(texts))
        from .model import vectorizer_layer
        from .text import encode

        return encode(vectorizer_layer(self.detector.model_), texts)

    def embed(self, ids: np.ndarray) -> np.ndarray:
        """Metric embeddings (n x dim, float32, unit length) of token-id rows."""
        ids = np.asarray(ids, "int64")
        if not len(ids):
            return np.zeros((0, self.detector.dim), "float32")
        if self.runtime is not None:
            return self.runtime.embed(ids)
        return self.detector.network_.predict(ids, batch_size=2048, verbose=0).astype("float32")

    def decide(self, texts: Sequence[str], retrieval: str | None = None) -> Decision:
        """The detector's vote (clickbait.vote.Decision) for headlines (strings)."""
        ids = self.ids(texts)
        return self.detector._decide(ids, self.embed(ids), texts=texts, retrieval=retrieval)

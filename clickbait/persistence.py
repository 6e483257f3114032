"""Saving and loading a detector (`TrainedDetector`, so `ClickbaitDetector` too): a versioned
model folder (files.VersionedFolder) holding model.keras, cases.npz, cases.parquet, vote.npz and
config.json, each checked against manifest.json. No pickle: the Keras file loads in safe mode,
and every number in config.json is bounded (clickbait.artifacts) before anything is sized by it.

`TrainedDetector.save/load/retain_and_save` and `ClickbaitDetector.save_learned` delegate here.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .artifacts import CASE_ARRAYS, check_config, check_npz, load_centroids, load_vote_arrays
from .cases import CaseBase, _check_labels
from .files import ArtifactError, VersionedFolder, read_json_artifact, read_retrying, sha256_file
from .headline import HeadlineCheck
from .validation import check_probability
from .version import __version__
from .vote import Adapter, Combiner

if TYPE_CHECKING:  # pragma: no cover
    from .trained import TrainedDetector

FORMAT_VERSION = 4  # 2: versioned folder with a manifest; 3: the learned vote (vote.npz); 4: adapter
INDEX_FILE = "index.npz"  # the fast retrieval's centroids (optional)
_REQUIRED = ("model.keras", "cases.npz", "cases.parquet", "config.json", "vote.npz")


def check_model_target(directory: str | os.PathLike, force: bool = False) -> None:
    """Raise now if `save(directory, force=force)` would refuse: a folder clickbait did not
    write (or one holding other things), or an existing model without `force`."""
    VersionedFolder(directory, "model").check_replaceable(force, allowed=("users",))


def data_hash(texts: Sequence[str], labels: Sequence[int]) -> str:
    """sha256 of the training data, recorded with the model."""
    h = hashlib.sha256()
    for t, y in zip(texts, labels, strict=True):
        h.update(f"{int(y)}\t{t}\n".encode())
    return h.hexdigest()


def _refuse_code(model: bytes, path: Path) -> None:
    """Refuse a model.keras that carries code (a lambda, as in a Lambda layer) at load time, as
    Keras' safe mode would: the Keras model itself is read later, on first use (safe mode)."""
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(model)) as z:
            config = json.loads(z.read("config.json"))
    except (zipfile.BadZipFile, KeyError, ValueError) as e:
        raise ArtifactError(f"{path} is not a Keras model file ({e})") from None
    stack = [config]
    while stack:
        x = stack.pop()
        if isinstance(x, dict):
            if x.get("class_name") in ("__lambda__", "Lambda"):
                raise ValueError(f"{path} carries code (a lambda); refused, as Keras' safe_mode "
                                 "refuses to deserialize it")
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)


def save(det: TrainedDetector, directory: str | os.PathLike, *, force: bool = False) -> Path:
    """`TrainedDetector.save`: a new version of `directory`, behind one atomic pointer."""
    det._check_fitted()
    folder = VersionedFolder(directory, "model")
    folder.check_replaceable(force, allowed=("users",))  # before the lock creates anything
    with folder.lock():
        folder.check_replaceable(force, allowed=("users",))  # another writer may have been first
        write_version(det, folder)
    return folder.path


def save_learned(det: TrainedDetector, directory: str | os.PathLike) -> Path:
    """`ClickbaitDetector.save_learned`: a new version under the lock, refused if another writer
    changed the folder since `det` was loaded."""
    folder = VersionedFolder(directory, "model")
    with folder.lock():
        _, manifest = folder.read(required=_REQUIRED)
        loaded = getattr(det, "_loaded_manifest", None)
        if loaded is not None and manifest != loaded:
            raise RuntimeError(f"{directory} changed while this detector learned (another "
                               "writer); load it again and retry")
        write_version(det, folder)
        det._loaded_manifest = folder.read(required=_REQUIRED)[1]
    return folder.path


def write_version(det: TrainedDetector, folder: VersionedFolder,
                  model_from: Path | None = None) -> None:
    """Write a new version of `det` into `folder` (the caller holds its lock); `model_from` is a
    version whose model.keras is reused byte for byte (its checksum stays the same)."""
    with folder.new_version(locked=True) as version:
        if model_from is not None:
            version.copy_from(model_from, "model.keras")
        else:
            det.model_.save(version.path("model.keras"))  # inside a private (0700) folder
        det.cases_.save(version)
        import keras
        import tensorflow as tf

        with version.open("vote.npz") as f:
            np.savez(f, pairs=det.headline_check_.pairs, numeric=det.headline_check_.numeric,
                     vectors=det.headline_check_.vectors.astype("float16"))
        if det.centroids_ is not None:  # the fast retrieval's clusters (optional: rebuilt if absent)
            with version.open(INDEX_FILE) as f:
                np.savez(f, **{f"centroids{c}": det.centroids_[c] for c in (0, 1)})
        config = {
            "format": FORMAT_VERSION,
            "params": det._param_dict(),
            "threshold": det.votes_["exact"]["threshold"],
            "vote": {"combiner": det.votes_["exact"]["combiner"].to_dict(), "adapter": det.adapter_.to_dict(),
                     "fast": {"combiner": det.votes_["fast"]["combiner"].to_dict(),
                              "threshold": det.votes_["fast"]["threshold"],
                              "validation_accuracy": det.votes_["fast"]["validation_accuracy"]}
                     if "fast" in det.votes_ else None,
                     "headline_check": det.headline_check_.to_dict(),
                     "prior": det.prior_, "support_cut": det.support_cut_,
                     "validation_from_id": det.validation_from_id_,
                     "retained_from_id": det.retained_from_id_},
            "validation_accuracy": det.votes_["exact"]["validation_accuracy"],
            "vocabulary_size": len(det.vocabulary_) + 2,
            "coverage": str(det.coverage_),
            "training_data_sha256": det.data_hash_,
            "fit_seconds": round(det.fit_seconds_, 1),
            "metrics": getattr(det, "metrics_", {}),
            "versions": {"clickbait": __version__, "tensorflow": tf.__version__,
                         "keras": keras.__version__, "numpy": np.__version__,
                         "python": platform.python_version()},
            "sha256": {"model.keras": sha256_file(version.path("model.keras"))},
        }
        version.write("config.json", json.dumps(config, indent=2, default=str) + "\n")
    det.config_ = config
    det.model_dir_ = folder.path


def retain_and_save(det: TrainedDetector, texts: list[str], labels, source: str | None = None,
                    model_dir: str | os.PathLike | None = None) -> np.ndarray:
    """`TrainedDetector.retain_and_save` (`texts` already checked): under the folder's lock, the
    stored cases (the attached overlay's, else the shared base's) are read again, the new ones
    added and a new version saved; the in-memory cases become the stored ones."""
    from .overlay import UserOverlay, fit_overlay, model_sha, resolve_model_dir

    labels = _check_labels(labels)
    if len(labels) != len(texts):
        raise ValueError(f"got {len(texts)} headlines but {len(labels)} labels")
    model_dir = resolve_model_dir(det, model_dir)
    embeddings = det.transform(texts)  # the slow part, outside the lock
    overlay = getattr(det, "overlay_", None)
    folder = VersionedFolder(model_dir, "model")
    if overlay is not None:
        if source is None:
            source = overlay.source
        with UserOverlay.update(model_dir, overlay.name, det.dim, model_sha(det)) as stored:
            fit_overlay(det, stored)
            stored.user_weight = overlay.user_weight
            ids = stored.cases.add(embeddings, labels, texts, source=source)
        det.overlay_ = stored
        return ids
    with folder.lock():
        version, manifest = folder.read(required=_REQUIRED)
        if manifest["files"]["model.keras"] != model_sha(det):
            raise RuntimeError(f"the network in {model_dir} was replaced after this detector "
                               "was loaded; load it again and retry")
        cases = CaseBase.load(version)
        ids = cases.add(embeddings, labels, texts, source=source or "user")
        det.cases_ = cases
        write_version(det, folder, model_from=version)
    return ids


def load(cls: type[TrainedDetector], directory: str | os.PathLike, user: str | None = None, *,
         new_user: bool = False) -> TrainedDetector:
    """`TrainedDetector.load`: every file checked against the manifest, config.json bounded,
    a model.keras carrying code refused; the Keras model itself is read on first use."""
    directory = Path(directory)
    folder = VersionedFolder(directory, "model")
    if not folder.exists():
        if (directory / "config.json").is_file():
            raise ArtifactError(f"{directory} was saved by an older clickbait (no manifest: "
                                "config.json has no checksum); train or save it again")
        raise ArtifactError(f"{directory} is not a saved ClickbaitDetector (no "
                            f"{directory / 'current'})")

    def read():
        version, manifest = folder.read(required=_REQUIRED)
        path = version / "config.json"
        config = read_json_artifact(path, FORMAT_VERSION)
        check_config(config, path)  # every number bounded before anything is sized by it
        try:
            self = cls(**config["params"])
            self._check_params()
            threshold = check_probability(config["threshold"])
        except (KeyError, TypeError, ValueError) as e:
            raise ArtifactError(f"{path}: {e}") from None
        model = (version / "model.keras").read_bytes()  # Keras reads it on first use
        if hashlib.sha256(model).hexdigest() != manifest["files"]["model.keras"]:
            raise ArtifactError(f"{version / 'model.keras'} changed while it was read")
        _refuse_code(model, version / "model.keras")
        check_npz(version / "cases.npz", CASE_ARRAYS)  # no forged size reaches np.load
        arrays = load_vote_arrays(version / "vote.npz", config["vote"]["headline_check"]["vocab_size"])
        has_index = (version / INDEX_FILE).exists()
        centroids = load_centroids(version / INDEX_FILE, self.dim) if has_index else None
        return self, config, manifest, model, CaseBase.load(version), arrays, centroids, threshold

    self, config, manifest, model, cases, arrays, centroids, threshold = read_retrying(read, folder)
    self._keras_bytes = model
    self._loaded_manifest = manifest
    self.cases_ = cases
    if cases.dim != self.dim:
        raise ArtifactError(f"{directory}: cases of dimension {cases.dim}, network of {self.dim}")
    try:
        vote = config["vote"]
        self.votes_ = {"exact": {"combiner": Combiner.from_dict(vote["combiner"]), "threshold": threshold,
                                 "validation_accuracy": config.get("validation_accuracy")}}
        if vote.get("fast"):  # a model saved before the fast retrieval has only the exact vote
            self.votes_["fast"] = {"combiner": Combiner.from_dict(vote["fast"]["combiner"]),
                                   "threshold": check_probability(vote["fast"]["threshold"]),
                                   "validation_accuracy": vote["fast"].get("validation_accuracy")}
        self.centroids_ = centroids
        self.adapter_ = Adapter.from_dict(vote["adapter"])
        self.headline_check_ = HeadlineCheck.from_parts(
            vote["headline_check"], arrays["pairs"], arrays["numeric"], arrays["vectors"])
        self.prior_ = check_probability(vote["prior"])
        self.support_cut_ = float(vote["support_cut"])
        self.validation_from_id_ = int(vote["validation_from_id"])
        self.retained_from_id_ = int(vote["retained_from_id"])
    except (KeyError, TypeError, ValueError) as e:
        raise ArtifactError(f"{directory}: the vote in config.json is incomplete ({e})") from None
    self.data_hash_ = config.get("training_data_sha256")
    self.metrics_ = config.get("metrics", {})
    self.fit_seconds_ = config.get("fit_seconds", 0.0)
    self.coverage_ = config.get("coverage")
    config["sha256"] = {"model.keras": manifest["files"]["model.keras"]}
    self.config_ = config
    self.classes_ = np.array([0, 1])
    self.model_dir_ = directory
    if user is not None:
        self.attach_user(user, create=new_user)
    return self


def load_keras(det: TrainedDetector) -> None:
    """Load the Keras model from the bytes `load` verified (safe mode: no code runs)."""
    import tempfile

    import keras

    from . import losses, text  # noqa: F401 (they register the model's custom objects)
    from .model import vectorizer_layer

    with tempfile.TemporaryDirectory(prefix="clickbait-") as tmp:
        path = Path(tmp) / "model.keras"
        path.write_bytes(det._keras_bytes)  # inside a private temporary folder
        model = keras.saving.load_model(path, safe_mode=True)
    det.model_ = model
    det.network_ = model.get_layer(index=-1)
    det.vocabulary_ = vectorizer_layer(model).get_vocabulary()[2:]

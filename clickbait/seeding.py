"""Reproducible fitting without touching the caller's random state.

Keras and TensorFlow draw weights, dropout masks and shuffling orders from process-wide
generators. `seeded(seed)` seeds them (Python's `random`, NumPy's global generator, TensorFlow's
global seed, Keras' global seed generator) and switches TensorFlow's op determinism on for the
block, then puts back what the caller had: their NumPy and `random` states exactly, their TF
global seed (None stays None; TF's op-level counters restart from it) and the determinism flag.

Chosen over threading local seeds through every layer because Keras' own shuffling in
`Model.fit` reads the global seed; the cost is that the block must not run concurrently with
other code using those generators in the same process (threads), which `fit` never does.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed every generator Keras/TF training uses and make TF ops deterministic inside the
    block; restore the caller's generators and determinism flag on the way out."""
    import keras
    import tensorflow as tf
    from keras.src.backend.common import global_state
    from keras.src.random.seed_generator import GLOBAL_SEED_GENERATOR
    from keras.src.utils.rng_utils import GLOBAL_RANDOM_SEED
    from tensorflow.python.eager import context
    from tensorflow.python.framework import config as tf_config

    saved_random, saved_numpy = random.getstate(), np.random.get_state()  # noqa: NPY002 (the legacy global is what we keep)
    saved_tf_seed = context.global_seed()
    saved_keras = {name: global_state.get_global_attribute(name)
                   for name in (GLOBAL_RANDOM_SEED, GLOBAL_SEED_GENERATOR)}
    deterministic = tf_config.is_op_determinism_enabled()
    keras.utils.set_random_seed(int(seed))
    tf_config.enable_op_determinism()
    try:
        yield
    finally:
        random.setstate(saved_random)
        np.random.set_state(saved_numpy)  # noqa: NPY002
        tf.random.set_seed(saved_tf_seed)
        for name, value in saved_keras.items():
            global_state.set_global_attribute(name, value)
        if not deterministic:
            tf_config.disable_op_determinism()

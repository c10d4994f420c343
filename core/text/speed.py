"""This machine's speed at the text stage's work, measured on the data at hand (issue 13: time
estimates 2-5x off; budgets that did not fit the shop).

``measure_speed`` (about a second on two CPU cores; remembered for ten minutes) loads the base
model and encodes three groups of the dataset's texts, neighbours by length as the real encoding
runs them, at a few length quantiles: seconds per text = ``a + b * length``, fitted once in
characters (encoding estimates) and once in word pieces (training estimates).

A training step is predicted from the batches the trainer will draw, not from an average pair:
``batch_shapes`` replays sentence-transformers' no-duplicates batch sampler (shuffle, then fill
each batch with pairs that share no text with it; a shop with few items gets smaller batches) and
each side of a batch costs ``n * (a + b * longest)`` word pieces (it is padded to its longest
text). A step is ``STEP_PASSES`` such forward passes (forward with gradients, backward, AdamW)
plus ``STEP_OVERHEAD`` seconds, calibrated with bench/text_speed.py; every training run of this
process corrects the passes (``core.text.plan.learn_from_training``).

torch is imported inside functions only.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from core.text.encoder import ENCODE_BATCH, base_model_dir, load_model, model_key
from core.text.params import MIN_PAIRS
from core.text.runtime import device, recall, remember, torch_threads

STEP_PASSES = 2.9  # forward passes a training step costs (bench/text_speed.py, 2 CPU cores)
STEP_OVERHEAD = 0.05  # seconds a step costs whatever its size (optimiser, bookkeeping)
# Fixed costs (seconds) until this process has measured its own: model load, trainer set-up, save.
DEFAULT_COSTS = {"load": 1.0, "setup": 1.0, "save": 0.3, "step_passes": STEP_PASSES}
PROBE_GROUPS = (1 / 6, 1 / 2, 5 / 6)  # length quantiles where groups of texts are timed
TRAIN_SEQ = 64  # word pieces a training text is cut to (FinetuneParams.max_seq_length default)
SPEED_TTL = 600.0  # seconds a measured speed is reused (the machine's load changes)
_SPEEDS: dict[tuple, tuple[float, TextSpeed]] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class TextSpeed:
    """Measured speeds. Encoding a text of ``c`` characters takes ``text_a + text_b * c``
    seconds, or ``tok_a + tok_b * w`` for ``w`` word pieces; a training step costs
    ``step_passes`` forward passes of its batch plus ``STEP_OVERHEAD``; fixed costs in seconds.
    ``step_seconds``: a typical full step of the pairs measured with (0 without pairs)."""

    device: str
    threads: int
    text_a: float
    text_b: float
    tok_a: float
    tok_b: float
    step_seconds: float
    load_seconds: float
    setup_seconds: float
    save_seconds: float
    step_passes: float = STEP_PASSES

    def encode_seconds(self, texts: Sequence[str] | int) -> float:
        """Seconds to encode ``texts`` (or that many texts of 30 characters)."""
        if isinstance(texts, (int, np.integer)):
            return float(texts) * (self.text_a + self.text_b * 30.0)
        return float(sum(self.text_a + self.text_b * len(t) for t in texts))

    def batch_seconds(self, size: int, longest_anchor: int, longest_positive: int) -> float:
        """One training step over ``size`` pairs whose longest texts have these word pieces."""
        forward = size * (2 * self.tok_a + self.tok_b * (longest_anchor + longest_positive))
        return self.step_passes * forward + STEP_OVERHEAD

    def as_dict(self) -> dict:
        return {k: (float(f"{v:.4g}") if isinstance(v, float) else v)
                for k, v in asdict(self).items()}


class PairCosts:
    """Training cost of the strongest ``k`` of some pairs: ``epoch_seconds(k)`` for one pass
    (the batches the trainer draws, ``batch_shapes``), at a ``TextSpeed``."""

    def __init__(self, anchor_tokens: np.ndarray, positive_tokens: np.ndarray,
                 anchor_keys: Sequence[str], positive_keys: Sequence[str], batch_size: int,
                 seed: int = 0) -> None:
        self.tokens = (np.asarray(anchor_tokens), np.asarray(positive_tokens))
        self.keys = (list(anchor_keys), list(positive_keys))
        self.batch_size, self.seed = batch_size, seed
        self._shapes: dict[int, list[tuple[int, int, int]]] = {}

    def __len__(self) -> int:
        return len(self.keys[0])

    def shapes(self, k: int) -> list[tuple[int, int, int]]:
        if k not in self._shapes:
            self._shapes[k] = batch_shapes(self.tokens[0][:k], self.tokens[1][:k],
                                           self.keys[0][:k], self.keys[1][:k],
                                           self.batch_size, self.seed)
        return self._shapes[k]

    def epoch_seconds(self, k: int, speed: TextSpeed) -> float:
        return float(sum(speed.batch_seconds(*s) for s in self.shapes(k)))

    def full_step_seconds(self, speed: TextSpeed) -> float:
        """The mean step of one pass over all pairs (a typical step, for the pages)."""
        shapes = self.shapes(len(self))
        return self.epoch_seconds(len(self), speed) / max(1, len(shapes))


def batch_shapes(anchor_tokens: np.ndarray, positive_tokens: np.ndarray,
                 anchor_keys: Sequence[str], positive_keys: Sequence[str], batch_size: int,
                 seed: int = 0) -> list[tuple[int, int, int]]:
    """``(pairs, longest anchor, longest positive)`` of each batch of one epoch as
    sentence-transformers' ``NoDuplicatesBatchSampler`` (drop_last False) builds them: a
    shuffled pass, each batch filled in order with pairs sharing no text with it, the rest
    deferred; the trainer takes the first ``ceil(n / batch_size)`` batches of the pass."""
    n = len(anchor_keys)
    if n == 0:
        return []
    batch = max(1, min(batch_size, n))
    order = list(np.random.default_rng(seed).permutation(n))
    out: list[tuple[int, int, int]] = []
    while order and len(out) < math.ceil(n / batch):
        seen: set[str] = set()
        taken, rest = [], []
        for i in order:
            if len(taken) < batch and anchor_keys[i] not in seen and positive_keys[i] not in seen:
                taken.append(i)
                seen.update((anchor_keys[i], positive_keys[i]))
            else:
                rest.append(i)
        out.append((len(taken), int(anchor_tokens[taken].max()), int(positive_tokens[taken].max())))
        order = rest
    return out


def measure_speed(texts: Sequence[str], pairs: pd.DataFrame | None = None, *,
                  batch_size: int = 64, model=None) -> tuple[TextSpeed, PairCosts | None]:
    """Speeds of the base model (``model``: its directory, None: the configured one) on this
    machine's device and threads for these ``texts``, and the cost model of these training
    ``pairs`` (None without pairs). Reused for ``SPEED_TTL`` seconds for the same data."""
    texts = sorted(dict.fromkeys(str(t) for t in texts), key=len)
    path = base_model_dir(model)
    usable = pairs is not None and len(pairs) >= MIN_PAIRS
    anchors = pairs["anchor"].astype(str).tolist() if usable else []
    positives = pairs["positive"].astype(str).tolist() if usable else []
    key = (model_key(path), device(), _signature(texts), _signature(anchors + positives),
           batch_size)
    with _LOCK:
        hit = _SPEEDS.get(key)
        if hit is not None and time.monotonic() - hit[0] < SPEED_TTL:
            return hit[1]
    t0 = time.monotonic()
    st = load_model(path)
    if time.monotonic() - t0 > 0.2:  # loaded now, not found in memory
        remember("load", time.monotonic() - t0)
    with torch_threads() as threads:
        (a, b), (ta, tb) = _text_cost(st, texts)
    costs = None
    if usable:
        tok = _token_counts(st, anchors + positives, TRAIN_SEQ)
        costs = PairCosts(tok[:len(anchors)], tok[len(anchors):], anchors, positives, batch_size)
    passes = recall("step_passes", DEFAULT_COSTS["step_passes"])
    speed = TextSpeed(device(), threads, a, b, ta, tb, 0.0, recall("load", DEFAULT_COSTS["load"]),
                      recall("setup", DEFAULT_COSTS["setup"]), recall("save", DEFAULT_COSTS["save"]),
                      passes)
    if costs is not None:
        speed = TextSpeed(**{**asdict(speed), "step_seconds": costs.full_step_seconds(speed)})
    with _LOCK:
        _SPEEDS[key] = (time.monotonic(), (speed, costs))
    return speed, costs


def _signature(texts: Sequence[str]) -> tuple:
    return len(texts), hash(tuple(texts[:: max(1, len(texts) // 64)]))


def _token_counts(st, texts: Sequence[str], cap: int) -> np.ndarray:
    """Word pieces of each text with the model's tokenizer (special tokens included), cut at
    ``cap``."""
    if hasattr(st, "token_counts"):  # an engine (core.text.engine.EngineModel)
        return st.token_counts(texts, cap)
    ids = st.tokenizer(list(texts), add_special_tokens=True, truncation=True,
                       max_length=cap)["input_ids"]
    return np.asarray([len(x) for x in ids], dtype=np.int64)


def _timed_encode(st, texts: Sequence[str], batch_size: int) -> float:
    import torch

    t = time.perf_counter()
    with torch.inference_mode():  # (an engine model ignores it)
        st.encode(list(texts), batch_size=batch_size, show_progress_bar=False,
                  convert_to_numpy=True)
    return time.perf_counter() - t


def _fit(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """``(a, b)`` of ``y = a + b * x`` through the points (b >= 0, a >= 10% of the mean y)."""
    if max(xs) - min(xs) < 1.0:
        return float(np.mean(ys)), 0.0
    b = max(0.0, float(np.polyfit(xs, ys, 1)[0]))
    return max(float(np.mean(ys)) - b * float(np.mean(xs)), 0.1 * float(np.mean(ys))), b


def _text_cost(st, texts: Sequence[str]) -> tuple[tuple[float, float], tuple[float, float]]:
    """Seconds per text as ``a + b * characters`` and ``a + b * word pieces``, from groups of
    ``ENCODE_BATCH`` texts neighbouring by length at ``PROBE_GROUPS`` (one warm-up group
    first: the first call pays one-off costs)."""
    if not texts:
        return (0.0, 0.0), (0.0, 0.0)
    n, group = len(texts), min(ENCODE_BATCH, len(texts))
    _timed_encode(st, texts[n // 3:n // 3 + group], group)
    chars, pieces, ys = [], [], []
    for q in PROBE_GROUPS:
        start = min(max(0, int(q * n) - group // 2), n - group)
        chunk = texts[start:start + group]
        ys.append(_timed_encode(st, chunk, group) / len(chunk))
        chars.append(float(np.mean([len(t) for t in chunk])))
        pieces.append(float(_token_counts(st, chunk, 10_000).max()))  # padded to the longest
    return _fit(chars, ys), _fit(pieces, ys)


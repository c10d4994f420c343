"""Which text encoder reads a catalog (issue 15): the script its item names are written in.

- ``script_shares(names)``: the share of the names' letters in each script (``cjk``: Chinese,
  Japanese, Korean; ``latin``; ``other``: Cyrillic, Arabic, Thai, ...).
- ``choose_encoder(names)``: the bundled English all-MiniLM-L6-v2 (``minilm``) when at least
  ``LATIN_SHARE`` of the letters are Latin, else the multilingual encoder (``multilingual``,
  ``core.text.engine``), with the reason in words.
- ``dataset_model(ws, dataset, model)``: the base model directory a dataset's text stage uses. An
  explicit ``model`` (``--model``) or ``$BUNDLELAB_MODEL`` wins: a local sentence-transformers
  or engine directory, or one of the names ``minilm``, ``multilingual``, ``auto``. Then the
  dataset's own setting (``set_dataset_encoder``: the Item similarity page's "Text model"), then
  ``auto``: chosen by the catalog's script.

Why the script and not the language: MiniLM's word pieces cover Latin text, so on French or
German names it still finds shared words; on Chinese names it sees mostly unknown pieces and
matched pairs (无线蓝牙耳机 / wireless bluetooth earphones) score ~0.15 while unrelated Chinese
names score ~0.5. A catalog mixing English and Chinese (< 80% Latin letters) goes to the
multilingual encoder, which reads both.
"""

from __future__ import annotations

import json
import os
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from core.errors import BundleLabError

LATIN_SHARE = 0.8  # at least this share of Latin letters: the English model
NAMES = ("auto", "minilm", "multilingual")
LABELS = {"minilm": "the English model all-MiniLM-L6-v2",
          "multilingual": "the multilingual model multilingual-e5-small"}
SETTING_FILE = "text_encoder.json"  # models/<dataset>/: the user's choice for the dataset
_CJK_PREFIXES = ("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "BOPOMOFO")
_CHOICES: dict[tuple, "EncoderChoice"] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class EncoderChoice:
    """``name``: "minilm", "multilingual" or "given" (a directory named by the user);
    ``path``: the base model directory; ``shares``: ``script_shares`` of the item names;
    ``why``: one sentence for the pages and the evaluation."""

    name: str
    path: Path
    shares: dict
    why: str

    def as_dict(self) -> dict:
        return {"name": self.name, "path": str(self.path), "shares": self.shares, "why": self.why}


def _script(ch: str) -> str | None:
    if not ch.isalpha():
        return None
    name = unicodedata.name(ch, "")
    if name.startswith(("LATIN", "FULLWIDTH LATIN")):
        return "latin"
    return "cjk" if name.startswith(_CJK_PREFIXES) else "other"


def script_shares(names: Iterable[object]) -> dict:
    """Shares of the names' letters per script (``cjk``, ``latin``, ``other``, summing to 1; all
    0 when there is no letter) and ``letters`` (their number)."""
    counts = {"cjk": 0, "latin": 0, "other": 0}
    for name in names:
        if not isinstance(name, str):
            continue
        for ch in name:
            script = _script(ch)
            if script:
                counts[script] += 1
    total = sum(counts.values())
    shares = {k: (round(v / total, 4) if total else 0.0) for k, v in counts.items()}
    return {**shares, "letters": total}


def choose_encoder(names: Iterable[object]) -> EncoderChoice:
    """The encoder for a catalog with these item names (see the module docstring)."""
    from core.text.encoder import base_model_dir
    from core.text.engine import MULTILINGUAL_DIR

    shares = script_shares(names)
    if shares["letters"] == 0 or shares["latin"] >= LATIN_SHARE:
        why = ("item names are in Latin letters" if shares["letters"] else
               "item names hold no letters") + \
            f" ({shares['latin']:.0%} Latin): the English model all-MiniLM-L6-v2"
        return EncoderChoice("minilm", base_model_dir("minilm"), shares, why)
    main = "Chinese/Japanese/Korean" if shares["cjk"] >= shares["other"] else "non-Latin"
    why = (f"{1 - shares['latin']:.0%} of the item names' letters are {main} characters: the "
           "multilingual model multilingual-e5-small (all-MiniLM-L6-v2 was trained on English)")
    return EncoderChoice("multilingual", MULTILINGUAL_DIR, shares, why)


def dataset_encoder(ws, dataset: str) -> str:
    """The dataset's own text model setting: one of ``NAMES`` (``auto`` when never set)."""
    try:
        value = json.loads((ws.models_dir / ws.resolve(dataset) / SETTING_FILE).read_text())
        return value["model"] if value.get("model") in NAMES else "auto"
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return "auto"


def set_dataset_encoder(ws, dataset: str, name: str) -> None:
    """Keep ``name`` (one of ``NAMES``) as the dataset's text model, for every later step."""
    if name not in NAMES:
        raise BundleLabError(f"unknown text model {name!r}: choose one of {', '.join(NAMES)}")
    folder = ws.models_dir / ws.resolve(dataset)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{SETTING_FILE}.{os.getpid()}"
    tmp.write_text(json.dumps({"model": name}))
    os.replace(tmp, folder / SETTING_FILE)


def dataset_choice(ws, dataset: str, model: str | os.PathLike | None = None) -> EncoderChoice:
    """The encoder of ``dataset``: the configured one (``model`` or ``$BUNDLELAB_MODEL``) when it
    is not ``auto``, else the dataset's setting (``set_dataset_encoder``), else
    ``choose_encoder`` on its item names (remembered per data version)."""
    from core import config
    from core.text.encoder import base_model_dir

    configured, source = config.model_path(model), "set by --model or $BUNDLELAB_MODEL"
    if configured is None or str(configured).strip().lower() == "auto":
        setting = dataset_encoder(ws, dataset)
        configured = None if setting == "auto" else setting
        source = "chosen for this dataset on the Item similarity page"
    if configured is not None and str(configured).strip().lower() != "auto":
        path = base_model_dir(configured)
        label = str(configured).strip().lower()
        name = label if label in NAMES else "given"
        why = (f"{LABELS[name]}, {source}" if name != "given"
               else f"the model directory {path.name}, {source}")
        return EncoderChoice(name, path, {}, why)
    name = ws.resolve(dataset)
    key = (str(ws.root), name, ws.info(name)["version"])
    with _LOCK:
        hit = _CHOICES.get(key)
    if hit is not None:
        return hit
    from core.text.texts import item_texts

    choice = choose_encoder(item_texts(ws.items(name), with_category=False).tolist())
    with _LOCK:
        _CHOICES[key] = choice
    return choice


def dataset_model(ws, dataset: str, model: str | os.PathLike | None = None) -> Path:
    """The base model directory of ``dataset`` (``dataset_choice(...).path``)."""
    return dataset_choice(ws, dataset, model).path

"""Fine-tuning for an encoder that cannot be fine-tuned itself (issue 15): a small head on top of
its vectors, trained on the shop's co-purchase pairs with the objective the sentence-transformers
fine-tuning uses (in-batch negatives, ``MultipleNegativesRankingLoss``'s scale 20 = temperature
0.05, both directions), the same pairs (``core.text.pairs``), time budget, cancel and atomic save.

The head is residual and linear: ``unit(x + W x + b)``, W and b starting at zero, so an untrained
adapter is the engine itself. Measured on the held-out split of the embeddings evaluation (last
~20% of orders), item-neighbour recall@10 with the multilingual engine: restaurant_cn 0.105 base
-> 0.160 adapted, pharmacy_cn 0.175 -> 0.42 (MiniLM fine-tuned: 0.109 and 0.171).

Training reads the engine's vectors of the pair texts (through the vector cache, so the item
vectors that follow cost nothing more) and takes about ``ADAPTER_STEPS`` steps of 1-2 ms each:
seconds, not minutes. torch is imported inside functions only.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from core.errors import BundleLabError
from core.progress import Progress, report, sub_progress
from core.text.engine import ADAPTER_FILE, ENGINE_FILE, apply_adapter, read_spec

# Steps that reached the best held-out recall in the measurements above (restaurant_cn: 30
# epochs of 8 steps; pharmacy_cn: 100 epochs of 2 steps), whatever the number of pairs.
ADAPTER_STEPS = 300
ADAPTER_MAX_EPOCHS = 100
ADAPTER_LR = 1e-3
ADAPTER_DECAY = 0.01
TEMPERATURE = 0.05  # MultipleNegativesRankingLoss's default scale of 20
STEP_SECONDS = 0.002  # one step of batch 64 at 384 dimensions on 2 CPU cores (measured: 1.4 ms)


def adapter_epochs(n_pairs: int, batch_size: int) -> int:
    """Passes over ``n_pairs`` that make about ``ADAPTER_STEPS`` steps (1..``ADAPTER_MAX_EPOCHS``)."""
    from core.text.plan import steps_per_epoch

    spe = steps_per_epoch(n_pairs, batch_size)
    return int(min(ADAPTER_MAX_EPOCHS, max(1, math.ceil(ADAPTER_STEPS / spe))))


def adapter_plan(n_pairs: int, params):
    """The ``core.text.plan.TrainingPlan`` of an adapter: every pair, ``adapter_epochs`` passes."""
    from core.text.plan import TrainingPlan, steps_per_epoch

    batch = max(2, min(params.batch_size, n_pairs))
    epochs = adapter_epochs(n_pairs, batch)
    steps = epochs * steps_per_epoch(n_pairs, batch)
    seconds = steps * STEP_SECONDS
    why = (f"{n_pairs:,} co-purchase pairs with signal, an adapter on the multilingual "
           f"encoder's vectors: {epochs} epoch{'s' * (epochs > 1)}, {steps} steps, about "
           f"{max(1, round(seconds))} s")
    return TrainingPlan(n_pairs, n_pairs, epochs, steps, batch, STEP_SECONDS, seconds,
                        params.seconds, epochs, why)


def train_adapter(anchors: np.ndarray, positives: np.ndarray, anchor_keys, positive_keys, *,
                  batch_size: int, epochs: int, seconds: float, seed: int = 0,
                  progress: Progress | None = None) -> tuple[dict[str, np.ndarray], dict]:
    """Train W, b on row pairs (``anchors[i]`` bought with ``positives[i]``). In a batch, a pair
    whose anchor or positive text equals another pair's is not that pair's negative (the
    sentence-transformers no-duplicates sampler's intent). Stops at the first step past
    ``seconds``; ``progress`` may raise ``Cancelled``. Returns the weights and
    ``{"steps", "loss", "stopped_early", "train_seconds"}``."""
    import torch

    from core.text.runtime import torch_threads

    t0 = time.monotonic()
    gen = torch.Generator().manual_seed(int(seed))
    a_all, p_all = torch.from_numpy(np.ascontiguousarray(anchors)), \
        torch.from_numpy(np.ascontiguousarray(positives))
    ka = torch.as_tensor(pd.factorize(pd.Series(list(anchor_keys) + list(positive_keys)))[0])
    ka, kp = ka[:len(anchors)], ka[len(anchors):]
    dim = anchors.shape[1]
    head = torch.nn.Linear(dim, dim)
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)
    opt = torch.optim.AdamW(head.parameters(), lr=ADAPTER_LR, weight_decay=ADAPTER_DECAY)
    n = len(anchors)
    steps_per = max(1, math.ceil(n / batch_size))
    total, step, loss_value, stopped = epochs * steps_per, 0, None, False
    with torch_threads():
        for _ in range(epochs):
            order = torch.randperm(n, generator=gen)
            for s in range(0, n, batch_size):
                i = order[s:s + batch_size]
                za = torch.nn.functional.normalize(a_all[i] + head(a_all[i]), dim=1)
                zp = torch.nn.functional.normalize(p_all[i] + head(p_all[i]), dim=1)
                logits = za @ zp.T / TEMPERATURE
                same = (kp[i][None, :] == kp[i][:, None]) | (ka[i][None, :] == ka[i][:, None])
                same.fill_diagonal_(False)
                logits = logits.masked_fill(same, float("-inf"))
                target = torch.arange(len(i))
                loss = (torch.nn.functional.cross_entropy(logits, target)
                        + torch.nn.functional.cross_entropy(logits.T, target)) / 2
                opt.zero_grad()
                loss.backward()
                opt.step()
                step += 1
                loss_value = float(loss.detach())
                report(progress, step / total, f"adapter step {step}/{total}")
                if time.monotonic() - t0 > seconds:
                    stopped = True
                    break
            if stopped:
                break
    weights = {"weight": head.weight.detach().numpy().astype(np.float32).copy(),
               "bias": head.bias.detach().numpy().astype(np.float32).copy()}
    return weights, {"steps": step, "loss": None if loss_value is None else round(loss_value, 4),
                     "stopped_early": stopped,
                     "train_seconds": round(time.monotonic() - t0, 2)}


class _Vectors:
    """Stands for a model in ``encode_items_pending``: answers texts already encoded."""

    def __init__(self, by_text: dict[str, np.ndarray]) -> None:
        self.by_text = by_text

    def get_embedding_dimension(self) -> int:
        return len(next(iter(self.by_text.values())))

    def encode(self, texts, **_: object) -> np.ndarray:
        return np.stack([self.by_text[str(t)] for t in texts])


def finetune_adapter(ws, name: str, base: Path, target: Path, pairs: pd.DataFrame,
                     n_orders: int, *, params, catalog: pd.Series, texts: pd.Series | None,
                     version: int, cut_iso: str | None, progress: Progress | None = None):
    """``core.text.finetune.finetune`` for an engine base: encode (through the base's vector
    cache), train the adapter, centre its output on the adapted ``catalog`` (every item's text),
    save it atomically as an engine directory. Returns
    ``(plan, stats, meta, vectors)``: the vectors of ``texts`` when given (cached). Writes nothing
    before training has ended."""
    from core.errors import check_version
    from core.text.encoder import (
        META_FILE,
        encode_items_pending,
        encoder_key,
        load_model,
        model_key,
    )

    plan = adapter_plan(len(pairs), params)
    report(progress, 0.05, f"fine-tuning plan: {plan.why}")
    spec = read_spec(base)
    if spec.get("adapter"):  # the vectors it reads are adapted already: the result would lie
        raise BundleLabError(
            f"{base} is a fine-tuned model already (an adapter on the multilingual model): "
            "fine-tune from the base model instead (--model multilingual)")
    catalog = catalog.astype(str).tolist()
    wanted = list(dict.fromkeys(pairs["anchor"].astype(str).tolist()
                                + pairs["positive"].astype(str).tolist() + catalog
                                + ([] if texts is None else texts.astype(str).tolist())))
    base_vecs, commit_base = encode_items_pending(ws, name, pd.Series(wanted), model=base,
                                                  progress=sub_progress(progress, 0.05, 0.7))
    # the centred base vectors: the base model's encode() gives exactly these
    by_text = dict(zip(wanted, base_vecs))
    weights, stats = train_adapter(
        np.stack([by_text[t] for t in pairs["anchor"].astype(str)]),
        np.stack([by_text[t] for t in pairs["positive"].astype(str)]),
        # keys are texts: two items of one name have one vector, so neither is the other's
        # negative (the sentence-transformers no-duplicates sampler works on texts too)
        pairs["anchor"].astype(str), pairs["positive"].astype(str),
        batch_size=plan.batch_size, epochs=plan.epochs, seconds=params.seconds, seed=params.seed,
        progress=sub_progress(progress, 0.7, 0.95))
    adapter = {**weights, "mean": np.asarray(load_model(base).mean, dtype=np.float32)}
    adapter["out_mean"] = apply_adapter(adapter, np.stack([by_text[t] for t in dict.fromkeys(
        catalog)])).mean(axis=0).astype(np.float32)  # the shop's adapted items' centre
    vectors, commit_vectors = None, None
    with ws.atomic_dir(target) as tmp:
        from safetensors.numpy import save_file

        save_file(adapter, str(tmp / ADAPTER_FILE))
        spec = {**spec, "adapter": ADAPTER_FILE, "reference": None}
        (tmp / ENGINE_FILE).write_text(json.dumps(spec, indent=2), encoding="utf-8")
        meta = {"dataset": name, "data_version": version, "tag": target.name,
                "model_id": uuid.uuid4().hex, "cut": cut_iso, "base": str(base),
                "base_key": model_key(base), "params": asdict(params), "pairs": len(pairs),
                "train_orders": n_orders, **stats, "stopped_by_timer": stats["stopped_early"],
                "adapter": True, "plan": plan.as_dict()}
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2))
        if texts is not None:
            adapted = {t: v for t, v in zip(by_text, apply_adapter(adapter, np.stack(list(
                by_text.values()))))}
            vectors, commit_vectors = encode_items_pending(
                ws, name, texts, model=tmp, st_model=_Vectors(adapted),
                key=encoder_key(target.name, meta["model_id"]))
        report(progress, 0.99, "saving the fine-tuned adapter")
        check_version(ws, name, version, doing="the text model was being fine-tuned",
                      again="fine-tune it again")
    commit_base()
    if commit_vectors is not None:
        commit_vectors()
    return plan, stats, meta, vectors

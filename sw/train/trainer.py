"""Train and evaluate one model on one task, with checkpoints that resume exactly.

A checkpoint is written after every epoch (atomically): model, optimiser,
epoch, the data-order generator and the metrics so far. Resuming continues
with the next epoch and ends with the same weights as an uninterrupted run.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from ipnet_mtj.sw.cli import write_atomically

__all__ = ["RunSpec", "train_run", "evaluate", "metric_of", "epoch_lr", "CLIP_NORM"]

CLIP_NORM = 1.0     # gradient-norm clipping, the same for every model


@dataclass(frozen=True)
class RunSpec:
    task: str
    model: str
    seed: int
    depth: int = 1

    @property
    def name(self):
        depth = f"-d{self.depth}" if self.model == "ipnet" else ""
        return f"{self.task}-{self.model}{depth}-s{self.seed}"


def _loss(kind, out, y, size):
    if kind == "class":
        return F.cross_entropy(out, y)
    return F.mse_loss(out, y / size if kind == "point" else y)


def metric_of(kind, out, y, size):
    """accuracy (class), mean error in pixels (point), RMSE (sequence)."""
    if kind == "class":
        return (out.argmax(1) == y).float().mean().item()
    if kind == "point":
        return (out * size - y).norm(dim=1).mean().item()
    return math.sqrt(F.mse_loss(out, y).item())


@torch.no_grad()
def evaluate(model, task, x, y, size, batch=64):
    model.eval()
    outs = [model(torch.as_tensor(x[i:i + batch])) for i in range(0, len(x), batch)]
    return metric_of(task.kind, torch.cat(outs), torch.as_tensor(y), size)


def _save(path, state):
    write_atomically(path, lambda tmp: torch.save(state, tmp))


def epoch_lr(lr, epoch, epochs, schedule):
    """Learning rate of ``epoch``: constant, or cosine from ``lr`` towards 0 over ``epochs``."""
    if schedule == "cosine":
        return lr * 0.5 * (1.0 + math.cos(math.pi * epoch / epochs))
    return lr


def train_run(model, task, train, test, size, epochs, batch, lr, seed, checkpoint, resume=True,
              progress=None, stop_after=None, schedule="constant"):
    """Train ``model``; return a dict of metrics. ``progress(epoch, step, steps, loss)`` is called
    after each batch. ``stop_after`` ends early after that many epochs (to test resuming).
    ``schedule`` is ``constant`` or ``cosine`` (:func:`epoch_lr`, a function of the epoch alone,
    so resuming keeps it)."""
    torch.manual_seed(seed)
    x_train, y_train = (torch.as_tensor(a) for a in train)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    order = torch.Generator().manual_seed(seed)
    start, history = 0, []
    checkpoint = Path(checkpoint)
    if resume and checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        order.set_state(state["order"])
        torch.set_rng_state(state["torch_rng"])
        start, history = state["epoch"] + 1, state["history"]
    began = time.perf_counter()
    for epoch in range(start, epochs):
        for group in opt.param_groups:
            group["lr"] = epoch_lr(lr, epoch, epochs, schedule)
        model.train()
        perm = torch.randperm(len(x_train), generator=order)
        steps = math.ceil(len(perm) / batch)
        total = 0.0
        for k in range(steps):
            idx = perm[k * batch:(k + 1) * batch]
            loss = _loss(task.kind, model(x_train[idx]), y_train[idx], size)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP_NORM)
            opt.step()
            total += loss.item()
            if progress:
                progress(epoch, k + 1, steps, loss.item())
        history.append({"epoch": epoch, "loss": total / steps,
                        "test": evaluate(model, task, *test, size)})
        _save(checkpoint, {"model": model.state_dict(), "optimizer": opt.state_dict(),
                           "order": order.get_state(), "torch_rng": torch.get_rng_state(),
                           "epoch": epoch, "history": history})
        if stop_after is not None and epoch + 1 >= stop_after:
            break
    return {"metric": history[-1]["test"] if history else float("nan"),
            "history": history, "train_s": time.perf_counter() - began,
            "finished": len(history) >= epochs}

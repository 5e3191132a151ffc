"""Train and evaluate one model on one task, with checkpoints that resume exactly.

A checkpoint is written after every epoch (atomically): model, optimiser,
epoch, the data-order generator, the metrics so far and the caller's tag (a
hash of what produced the run). Resuming continues with the next epoch and
ends with the same weights as an uninterrupted run; a checkpoint that is
unreadable, foreign or tagged otherwise is refused. A loss, weight or test
output that is not finite stops training with an error.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from ipnet_mtj.sw.cli import write_atomically
from ipnet_mtj.sw.config import ConfigError

__all__ = ["Diverged", "RunSpec", "train_run", "evaluate", "predict", "metric_of", "epoch_lr",
           "stale_checkpoint",
           "CLIP_NORM", "best_epoch", "validation_loss"]

CLIP_NORM = 1.0     # gradient-norm clipping, the same for every model


class Diverged(ConfigError):
    """Training stopped because a loss, weight or output stopped being a finite number."""


@dataclass(frozen=True)
class RunSpec:
    task: str
    model: str
    seed: int
    depth: int = 1
    lr: float = None        #: the learning rate of the grid; None: the experiment's first
    variant: str = ""       #: ipnet: an ablation variant of the experiment ("": the default)

    @property
    def name(self):
        depth = f"-d{self.depth}" if self.model == "ipnet" else ""
        variant = f"-{self.variant}" if self.variant else ""
        lr = f"-lr{self.lr:g}" if self.lr is not None else ""
        return f"{self.task}-{self.model}{depth}{variant}-s{self.seed}{lr}"

    @property
    def cell(self):
        """What the learning-rate choice groups over: everything but the seed and the rate."""
        return (self.task, self.model, self.depth) + ((self.variant,) if self.variant else ())


def task_loss(kind, out, y, size):
    if kind == "class":
        return F.cross_entropy(out, y)
    if kind == "multilabel":
        return F.binary_cross_entropy_with_logits(out, y)
    if kind == "binary_sequence":       # y: 1, 0, or -1 where the frame is not scored
        scored = y >= 0
        return F.binary_cross_entropy_with_logits(out[scored], y[scored])
    return F.mse_loss(out, y / size if kind == "point" else y)


def metric_of(kind, out, y, size):
    """accuracy (class; multilabel: of every label; binary_sequence: of the scored frames,
    logit > 0 meaning 1), mean error in pixels (point), RMSE (sequence)."""
    if kind == "class":
        return (out.argmax(1) == y).float().mean().item()
    if kind == "multilabel":
        return ((out > 0).float() == y).float().mean().item()
    if kind == "binary_sequence":
        scored = y >= 0
        return ((out[scored] > 0).float() == y[scored]).float().mean().item()
    if kind == "point":
        return (out * size - y).norm(dim=1).mean().item()
    return math.sqrt(F.mse_loss(out, y).item())


@torch.no_grad()
def predict(model, x, batch=64):
    """The model's outputs on ``x``, in eval mode, ``batch`` samples at a time."""
    model.eval()
    return torch.cat([model(torch.as_tensor(x[i:i + batch])) for i in range(0, len(x), batch)])


def evaluate(model, task, x, y, size, batch=64):
    return metric_of(task.kind, predict(model, x, batch), torch.as_tensor(y), size)


def _save(path, state):
    write_atomically(path, lambda tmp: torch.save(state, tmp))


_STATE_KEYS = ("model", "optimizer", "order", "torch_rng", "epoch", "history")
_FIX = "delete it or train again with --fresh"


def _load(checkpoint, tag):
    """The state saved in ``checkpoint``, or a one-line ConfigError naming it."""
    try:
        state = torch.load(checkpoint, weights_only=True)
    except Exception:       # noqa: BLE001 - torch raises many types for a file that is not its own
        raise ConfigError(f"{checkpoint}: not a readable checkpoint (truncated or foreign); "
                          f"{_FIX}") from None
    missing = [k for k in _STATE_KEYS if k not in state] if isinstance(state, dict) else ["model"]
    if missing:
        raise ConfigError(f"{checkpoint}: not a training checkpoint (no {missing[0]!r}); {_FIX}")
    if state.get("tag") != tag:
        raise ConfigError(f"{checkpoint}: made by another experiment or config (hash "
                          f"{state.get('tag')}, now {tag}); {_FIX}")
    return state


def stale_checkpoint(checkpoint, tag):
    """Whether ``checkpoint`` is a readable training checkpoint made under another tag (another
    experiment, config or protocol): a cache would train that run again from the start."""
    try:
        state = torch.load(checkpoint, weights_only=True)
    except Exception:       # noqa: BLE001 - unreadable: not stale, train_run refuses it
        return False
    return isinstance(state, dict) and "tag" in state and state["tag"] != tag


def _resume(checkpoint, tag, model, opt, order):
    """Load ``checkpoint`` into the model, optimiser and generators; return (epoch, history)."""
    state = _load(checkpoint, tag)
    try:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        order.set_state(state["order"])
        torch.set_rng_state(state["torch_rng"])
        return int(state["epoch"]) + 1, list(state["history"])
    except (RuntimeError, ValueError, KeyError, TypeError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0].rstrip(":")
        raise ConfigError(f"{checkpoint}: does not fit this model ({reason}); {_FIX}") from None


def _check_loss(name, loss, epoch, step):
    """Stop a run whose loss is no longer a finite number."""
    if not math.isfinite(loss):
        raise Diverged(f"{name}: the loss became {loss} at epoch {epoch + 1} step {step}; "
                          f"nothing saved for this epoch; lower the learning rate")


def _check_weights(name, model, epoch):
    """Stop a run whose weights are no longer finite numbers (after the last step of an epoch)."""
    bad = [n for n, p in model.named_parameters() if not torch.isfinite(p).all()]
    if bad:
        raise Diverged(f"{name}: the weight {bad[0]} became non-finite at epoch {epoch + 1}; "
                          f"nothing saved for this epoch; lower the learning rate")


def _test_metric(name, model, task, test, size, epoch, stop=True):
    """The metric on the test set after ``epoch``; stop a run whose outputs are not finite
    (``stop``), or record nan (with a validation split, which alone decides a divergence:
    the test split must not influence any choice)."""
    out = predict(model, test[0])
    if not torch.isfinite(out).all():
        if not stop:
            return float("nan")
        raise Diverged(f"{name}: the outputs on the test set became non-finite at epoch "
                          f"{epoch + 1}; nothing saved for this epoch; lower the learning rate")
    return metric_of(task.kind, out, torch.as_tensor(test[1]), size)


def epoch_lr(lr, epoch, epochs, schedule):
    """Learning rate of ``epoch``: constant, or cosine from ``lr`` towards 0 over ``epochs``."""
    if schedule == "cosine":
        return lr * 0.5 * (1.0 + math.cos(math.pi * epoch / epochs))
    return lr


@torch.no_grad()
def validation_loss(model, task, x, y, size, batch=64):
    """The training loss on held-out data (the early-stopping criterion)."""
    return task_loss(task.kind, predict(model, x, batch), torch.as_tensor(y), size).item()


def best_epoch(history, patience=None):
    """Index into ``history`` of the epoch with the lowest validation loss (the first of ties),
    and whether training should stop: ``patience`` epochs have passed without a lower one."""
    losses = [h["val_loss"] for h in history]
    best = min(range(len(losses)), key=lambda k: (losses[k], k))
    return best, patience is not None and len(losses) - 1 - best >= patience


def train_run(model, task, train, test, size, epochs, batch, lr, seed, checkpoint, resume=True,
              progress=None, stop_after=None, schedule="constant", tag=None, name=None,
              validation=None, patience=None, test_each_epoch=True):
    """Train ``model``; return a dict of metrics. ``progress(epoch, step, steps, loss)`` is called
    after each batch. ``stop_after`` ends early after that many epochs (to test resuming).
    ``schedule`` is ``constant`` or ``cosine`` (:func:`epoch_lr`, a function of the epoch alone,
    so resuming keeps it). ``tag`` is saved in the checkpoint, and a checkpoint with another
    tag is not resumed. ``name`` names the run in errors (default: the checkpoint's path).

    With ``validation`` (x, y) every epoch also records the validation loss and metric; the
    weights of the epoch with the lowest validation loss are kept in the checkpoint
    (``best``), the model ends with them, and the returned ``metric`` is the test metric of
    that epoch. ``patience``: stop once that many epochs brought no lower validation loss
    (early stopping; the run counts as finished). ``epochs`` is then the most it may take.
    ``test_each_epoch=False`` (with ``validation``): the test split is evaluated once, with the
    kept weights, instead of after every epoch; only the best epoch's history entry has a
    ``test``. The figure is the same (evaluation consumes no randomness in lut mode and
    changes no weight); the run is cheaper.

    Raises
    ------
    ConfigError
        When the checkpoint cannot be resumed, or the loss or the weights stop being finite
        (nothing is saved for that epoch)."""
    torch.manual_seed(seed)
    x_train, y_train = (torch.as_tensor(a) for a in train)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    order = torch.Generator().manual_seed(seed)
    start, history, best_state = 0, [], None
    checkpoint = Path(checkpoint)
    name = name or str(checkpoint)
    if resume and checkpoint.exists():
        start, history = _resume(checkpoint, tag, model, opt, order)
        best_state = _load(checkpoint, tag).get("best")
    began = time.perf_counter()
    stopped = validation is not None and bool(history) and best_epoch(history, patience)[1]
    for epoch in range(start, epochs):
        if stopped:
            break
        for group in opt.param_groups:
            group["lr"] = epoch_lr(lr, epoch, epochs, schedule)
        model.train()
        perm = torch.randperm(len(x_train), generator=order)
        steps = math.ceil(len(perm) / batch)
        total = 0.0
        for k in range(steps):
            idx = perm[k * batch:(k + 1) * batch]
            loss = task_loss(task.kind, model(x_train[idx]), y_train[idx], size)
            _check_loss(name, loss.item(), epoch, k + 1)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP_NORM)
            opt.step()
            total += loss.item()
            if progress:
                progress(epoch, k + 1, steps, loss.item())
        _check_weights(name, model, epoch)
        entry = {"epoch": epoch, "loss": total / steps}
        if validation is not None:         # one pass gives the loss and the metric
            out, y_val = predict(model, validation[0]), torch.as_tensor(validation[1])
            entry["val_loss"] = task_loss(task.kind, out, y_val, size).item()
            if not math.isfinite(entry["val_loss"]):
                raise Diverged(f"{name}: the validation loss became {entry['val_loss']} at epoch "
                               f"{epoch + 1}; nothing saved for this epoch; lower the learning rate")
            entry["val"] = metric_of(task.kind, out, y_val, size)
        if validation is None or test_each_epoch:
            entry["test"] = _test_metric(name, model, task, test, size, epoch,
                                         stop=validation is None)
        history.append(entry)
        if validation is not None:
            best, stopped = best_epoch(history, patience)
            if best == len(history) - 1:
                best_state = {k: v.clone() for k, v in model.state_dict().items()}
        _save(checkpoint, {"model": model.state_dict(), "optimizer": opt.state_dict(),
                           "order": order.get_state(), "torch_rng": torch.get_rng_state(),
                           "epoch": epoch, "history": history, "tag": tag, "best": best_state})
        if stop_after is not None and epoch + 1 >= stop_after:
            break
    result = {"metric": history[-1].get("test", float("nan")) if history else float("nan"),
              "history": history, "train_s": time.perf_counter() - began,
              "finished": len(history) >= epochs}
    if validation is not None and history:
        best, stopped = best_epoch(history, patience)
        if best_state is not None:
            model.load_state_dict(best_state)
        if "test" not in history[best]:     # evaluated once, with the kept weights
            history[best]["test"] = (_test_metric(name, model, task, test, size, best, stop=False)
                                     if best_state is not None else float("nan"))
        result.update(metric=history[best]["test"], best_epoch=best,
                      val_loss=history[best]["val_loss"], val_metric=history[best]["val"],
                      finished=len(history) >= epochs or stopped, stopped_early=stopped)
    return result

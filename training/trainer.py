"""The training loop: AdamW + StepLR on the eq. 4 loss, resumable exactly, single process or DDP.

One optimisation step = one global batch of ``TrainConfig.batch_size`` patches (split evenly
over the ``torchrun`` processes; DistributedDataParallel averages the gradients, so the
optimisation is the same as one process with the whole batch). The cosine schedule steps after
every optimisation step, the paper's StepLR at epoch ends. Validation (rank 0, whole validation scenes through the engine's pipeline) runs every
``val_every`` epochs and when the run stops early; the best validation PSNR so far is kept as an
engine weights file ``best.safetensors`` + ``best.json`` in the run folder.

Stopping: at the last epoch; when ``time_budget_s`` (wall seconds of this invocation) is spent,
reserving the duration of the last validation so the final one fits; after ``max_steps`` global
steps; on SIGTERM / SIGINT. (Before the first validation was timed, 5 % of the budget is
reserved instead.) Each stop writes a checkpoint first, so ``--resume`` continues from
exactly that step. A kill -9 loses only the steps since the last checkpoint (epoch ends, every
``checkpoint_minutes``, every ``checkpoint_every`` steps).

Exactness of resume: the checkpoint restores model, optimizer, scheduler and RNG state; the
batch order is a function of (seed, epoch) and the position; the augmentation of (seed, epoch,
index); validation runs under a saved-and-restored RNG state so it never changes training.
"""

from __future__ import annotations

import contextlib
import json
import math
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from pifnet_engine.atomic_file import write_atomic
from pifnet_engine.errors import UsageError
from pifnet_engine.model import PIFNet, PIFNetConfig
from pifnet_engine.model.loss import pifnet_loss
from training import checkpoint as ckpt
from training.distributed import DistInfo, barrier, broadcast_object, mean_over_ranks
from training.evaluate import evaluate_scenes, method_from_model, write_report
from pifnet_engine.model.weights import save_weights
from training.pairs import PatchDataset, SimulatedScene
from training.precision import forward_precision, resolve_precision
from training.run_log import TRAIN_FIELDS, VAL_FIELDS, CsvLog, Progress, TensorBoard, truncate_log
from training.sampler import ResumableSampler
from training.trainer_config import TrainConfig

CHECKPOINT_DIR = "checkpoints"
BEST = "best"
EXIT_SIGNALS = {signal.SIGINT: 130, signal.SIGTERM: 143}
#: Fraction of the time budget kept for the final validation before any validation was timed.
FIRST_VALIDATION_RESERVE = 0.05

#: Called after every step with (step, loss terms); tests use it to simulate a crash.
StepHook = Callable[[int, dict[str, float]], None]
#: An extra loss term: (network, step) -> (loss to add, term to log); see Trainer's ``extra_loss``.
ExtraLoss = Callable[[torch.nn.Module, int], tuple[torch.Tensor, torch.Tensor]]


def step_loss(net: torch.nn.Module, batch: dict[str, torch.Tensor], device: torch.device, precision: str,
              blocks: int, lambda_inv: float, lambda_cos: float, inv_penalty: str,
              extra_loss: ExtraLoss | None = None, step: int = 0,
              ) -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor | None]:
    """The loss of one batch (``lr_hsi``, ``hr_msi``, ``target``, optional ``base``): the forward pass
    in ``precision`` (an already resolved name), the eq. 4 loss, plus ``extra_loss(net, step)``.

    Returns (loss, the eq. 4 terms, the extra term to log or None). The trainer's step and the
    fit's step-time probe both compute their loss here."""
    lr_hsi = batch["lr_hsi"].to(device, non_blocking=True)
    hr_msi = batch["hr_msi"].to(device, non_blocking=True)
    target = batch["target"].to(device, non_blocking=True)
    base = batch["base"].to(device, non_blocking=True) if "base" in batch else None
    with forward_precision(precision, device):
        out = net(lr_hsi, hr_msi, base=base)
        extra = extra_loss(net, step) if extra_loss is not None else None
    loss, terms = pifnet_loss(out, target, lambda_inv, lambda_cos, inv_penalty=inv_penalty, blocks=blocks)
    if extra is None:
        return loss, terms, None
    return loss + extra[0], terms, extra[1]


@dataclass
class TrainResult:
    """How a :meth:`Trainer.fit` call ended."""

    reason: str  # "finished", "time_budget", "max_steps", "signal"
    step: int
    epoch: int
    seconds: float
    best: dict[str, Any] | None = None
    exit_code: int = 0
    losses: list[float] = field(default_factory=list)


@contextlib.contextmanager
def preserved_rng() -> Iterator[None]:
    """Run the block without changing any global random generator."""
    meta, tensors = ckpt.capture_rng()
    try:
        yield
    finally:
        ckpt.restore_rng(meta, tensors)


class _SignalFlag:
    """Records SIGINT/SIGTERM instead of dying, so the loop can checkpoint and exit."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._old: dict[int, Any] = {}

    def __enter__(self) -> "_SignalFlag":
        with contextlib.suppress(ValueError):  # not the main thread: leave handlers alone
            for sig in EXIT_SIGNALS:
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: object) -> None:
        self.signum = signum

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


class Trainer:
    """Trains one PIF-Net on simulated patches and validates it on whole scenes.

    Args:
        run_dir: the run folder (must exist; only rank 0 writes into it).
        model_cfg, cfg: architecture and optimisation settings.
        train_scenes, val_scenes: simulated scenes (same protocol, ratio, bands).
        dist: this process's place (see :func:`training.distributed.init_distributed`).
        manifest_extra: manifest sections for weights written by this run (hsi/msi/normalisation/
            training), see :func:`training.export.manifest_extra`; validation is added here.
        scale: normalisation divisor (physical units per 1.0) of the scenes, for validation.
        wavelengths_nm: HSI band centres (validation writes them on the HSI), or None.
        progress: ``bar``, ``log`` or ``none``.
        on_step: optional hook called after every step (rank 0 and others alike).
        pair_mean: normalise each training scene by its own statistics (the unit-free rule of
            the manifest's ``pair_mean`` normalisation); False for runs started before it.
        extra_loss: ``(net, step) -> (loss, term)`` added to each step's loss, forward pass in the
            run's precision (a fit's full-resolution consistency term,
            :class:`training.fit.consistency.ConsistencyTerm`); ``term`` is logged as ``cons``.
    """

    def __init__(self, run_dir: Path, model_cfg: PIFNetConfig, cfg: TrainConfig,
                 train_scenes: list[SimulatedScene], val_scenes: list[SimulatedScene], dist: DistInfo,
                 manifest_extra: dict[str, Any], scale: float = 1.0,
                 wavelengths_nm: tuple[float, ...] | None = None, progress: str = "none",
                 on_step: StepHook | None = None, pair_mean: bool = True,
                 extra_loss: ExtraLoss | None = None) -> None:
        if cfg.batch_size % dist.world_size:
            raise UsageError(
                f"--batch-size {cfg.batch_size} is not divisible by the {dist.world_size} torchrun "
                f"processes; expected a multiple of {dist.world_size} (it is the global batch)"
            )
        self.run_dir, self.model_cfg, self.cfg, self.dist = run_dir, model_cfg, cfg, dist
        self.val_scenes, self.manifest_extra = val_scenes, manifest_extra
        self.scale, self.wavelengths_nm, self.on_step = scale, wavelengths_nm, on_step
        self.extra_loss = extra_loss
        self.device = dist.device
        self.precision = resolve_precision(cfg.precision, self.device)
        torch.manual_seed(cfg.seed)  # identical initialisation on every rank
        self.model = PIFNet(model_cfg).to(self.device)
        self.net: torch.nn.Module = self.model
        if dist.distributed:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.net = DistributedDataParallel(self.model, device_ids=ids)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.dataset = PatchDataset(train_scenes, patch_size=cfg.patch_size, stride=cfg.stride, seed=cfg.seed,
                                    pair_mean=pair_mean)
        self.per_rank = cfg.batch_size // dist.world_size
        self.sampler = ResumableSampler(self.dataset, dist.world_size, dist.rank, seed=cfg.seed)
        self.steps_per_epoch = self.sampler.num_samples // self.per_rank
        if self.steps_per_epoch == 0:
            raise UsageError(
                f"the training set has {len(self.dataset)} patches, fewer than one batch of "
                f"{cfg.batch_size}; use a smaller --batch-size or --patch-size, or more data"
            )
        horizon = cfg.schedule_steps or cfg.epochs * self.steps_per_epoch
        self.scheduler: torch.optim.lr_scheduler.LRScheduler
        if cfg.schedule == "cosine":
            self.scheduler = torch.optim.lr_scheduler.LambdaLR(
                self.optimizer, lambda step: cfg.lr_factor(step, horizon))
        else:
            self.scheduler = torch.optim.lr_scheduler.StepLR(self.optimizer, cfg.lr_step_epochs, cfg.lr_gamma)
        self.loader = DataLoader(self.dataset, batch_size=self.per_rank, sampler=self.sampler,
                                 drop_last=True, num_workers=cfg.workers)
        self.step = self.epoch = self.batch_in_epoch = 0
        self.seconds_before = 0.0
        self.best: dict[str, Any] | None = None
        self.last_val_step = -1
        self.last_val_seconds = 0.0
        self.progress_mode = progress

    # --- checkpoints ----------------------------------------------------------------------------
    @property
    def checkpoint_dir(self) -> Path:
        return self.run_dir / CHECKPOINT_DIR

    def resume(self) -> None:
        """Load the run's last checkpoint (every rank reads the same files)."""
        c = ckpt.load_checkpoint(self.checkpoint_dir)
        pos = c.meta["position"]
        if pos.get("world_size", 1) != self.dist.world_size and pos["batch_in_epoch"]:
            raise UsageError(
                f"the checkpoint stopped mid-epoch with {pos['world_size']} processes but this run has "
                f"{self.dist.world_size}; resume with the same number of torchrun processes"
            )
        ckpt.restore_training_state(c, self.model, self.optimizer, self.scheduler)
        self.step, self.epoch, self.batch_in_epoch = int(pos["step"]), int(pos["epoch"]), int(pos["batch_in_epoch"])
        extra = c.meta["extra"]
        self.seconds_before = float(extra.get("seconds", 0.0))
        self.best = extra.get("best")
        self.last_val_step = int(extra.get("last_val_step", -1))
        if self.dist.is_main:
            truncate_log(self.run_dir / "train_log.csv", self.step)
            truncate_log(self.run_dir / "val_log.csv", self.step)

    def save(self, seconds: float) -> None:
        if not self.dist.is_main:
            return
        position = {"step": self.step, "epoch": self.epoch, "batch_in_epoch": self.batch_in_epoch,
                    "world_size": self.dist.world_size, "steps_per_epoch": self.steps_per_epoch}
        extra = {"seconds": seconds, "best": self.best, "last_val_step": self.last_val_step}
        ckpt.save_checkpoint(self.checkpoint_dir, self.model, self.optimizer, self.scheduler, position, extra)

    # --- validation -----------------------------------------------------------------------------
    def _baselines(self) -> dict[str, Any]:
        """GSA and bicubic on the validation scenes, computed once per run folder."""
        path = self.run_dir / "baselines_validation.json"
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))
        report = evaluate_scenes(self.val_scenes, None, scale=self.scale, wavelengths_nm=self.wavelengths_nm,
                                 tile_px=self.cfg.val_tile_px, device=self.device.type)
        write_atomic(path, json.dumps(report, indent=2) + "\n")
        return report

    def score(self, model: PIFNet) -> dict[str, Any]:
        """PIF-Net's report on the validation scenes for ``model`` (no baselines), fused as its
        weights file would be; used for the model being trained and, by a fit, for its mix."""
        method = method_from_model(model, self.manifest_extra, self.device)
        return evaluate_scenes(self.val_scenes, method, scale=self.scale, baselines=(),
                               wavelengths_nm=self.wavelengths_nm, tile_px=self.cfg.val_tile_px,
                               device=self.device.type)

    def validate(self, seconds: float) -> dict[str, float] | None:
        """Rank 0: score the model on the validation scenes, log it, keep the best weights.
        Returns PIF-Net's mean metrics (None on other ranks or without validation scenes)."""
        metrics = None
        if self.dist.is_main and self.val_scenes:
            t0 = time.perf_counter()
            self.model.eval()
            with preserved_rng(), torch.no_grad():
                report = self.score(self.model)
                base = self._baselines()
            self.model.train()
            report["methods"] += base["methods"]
            report["mean"].update(base["mean"])
            for mine, theirs in zip(report["scenes"], base["scenes"], strict=True):
                mine["metrics"].update(theirs["metrics"])
                mine["seconds"].update(theirs["seconds"])
            report.update({"split": "validation", "step": self.step, "epoch": self.epoch,
                           "epoch_fraction": round(self.epoch + self.batch_in_epoch / self.steps_per_epoch, 4)})
            write_report(report, self.run_dir, "validation",
                         f"Validation at step {self.step} (epoch {report['epoch_fraction']})")
            metrics = report["mean"]["pifnet"]
            self.val_log.write({"step": self.step, "epoch": self.epoch, **metrics, "seconds": round(seconds, 1)})
            self.tb.scalars("val", metrics, self.step)
            if self.best is None or metrics["psnr"] > self.best["psnr"]:
                self.best = {**metrics, "step": self.step, "epoch": report["epoch_fraction"]}
                self._write_best(report)
            self.last_val_seconds = time.perf_counter() - t0
            self.progress.message(f"validation step {self.step}: PSNR {metrics['psnr']:.2f} dB, SSIM "
                                  f"{metrics['ssim']:.4f}, SAM {metrics['sam']:.3f}, ERGAS {metrics['ergas']:.3f} "
                                  f"(GSA PSNR {report['mean']['gsa']['psnr']:.2f}) "
                                  f"[{self.last_val_seconds:.0f} s]")
        self.last_val_step = self.step
        self.last_val_seconds = float(broadcast_object(self.last_val_seconds, self.dist))  # type: ignore[arg-type]
        barrier(self.dist)
        return metrics

    def _write_best(self, report: dict[str, Any]) -> None:
        extra = dict(self.manifest_extra)
        extra["name"] = self.run_dir.resolve().name  # the run's name; `export` gives the final one
        extra["validation"] = validation_section(report)
        extra["training"] = {**extra.get("training", {}), "step": self.step, "epoch": report["epoch_fraction"]}
        save_weights(self.run_dir / BEST, self.model, extra)

    # --- the loop -------------------------------------------------------------------------------
    def fit(self, time_budget_s: float | None = None, max_steps: int | None = None,
            started: float | None = None, validate_first: bool = False) -> TrainResult:
        """Train until the last epoch, the time budget, ``max_steps`` or a signal; checkpoint.

        ``started``: ``time.monotonic()`` when the invocation began (data loading counts against
        the budget); default now. ``validate_first``: validate (and keep as best) the model as
        it is before the first step (a fit's start), then checkpoint."""
        cfg, main = self.cfg, self.dist.is_main
        t_start = time.monotonic()
        t_budget = started if started is not None else t_start
        total_steps = cfg.epochs * self.steps_per_epoch
        if cfg.schedule_steps:  # the planned length (a fit's epochs are unbounded)
            total_steps = min(total_steps, cfg.schedule_steps)
        self.progress = Progress(self.progress_mode if main else "none", total_steps,
                                 every_s=2.0 if self.progress_mode == "json" else 60.0, budget_s=time_budget_s)
        last_ckpt = time.monotonic()
        losses: list[float] = []
        reason = "finished"

        def seconds() -> float:
            return self.seconds_before + time.monotonic() - t_start

        self.model.train()
        self.progress.message(f"training on {self.device.type}, forward pass in {self.precision}"
                              f"{' (autocast)' if self.precision == 'bf16' else ''}")
        with _SignalFlag() as flag, self._open_logs():
            if validate_first and self.step == 0:
                self.validate(seconds())
                self.save(seconds())
            while self.epoch < cfg.epochs and reason == "finished":
                self.dataset.set_epoch(self.epoch)
                self.sampler.set_epoch(self.epoch)
                self.sampler.set_start(self.batch_in_epoch * self.per_rank)
                for batch in self.loader:
                    lr = self.optimizer.param_groups[0]["lr"]  # the rate this step used
                    terms = self._train_step(batch)
                    if cfg.schedule == "cosine":
                        self.scheduler.step()
                    losses.append(terms["loss"])
                    self.step += 1
                    self.batch_in_epoch += 1
                    if main:
                        self.train_log.write({"step": self.step, "epoch": self.epoch, "lr": lr, **terms,
                                              "seconds": round(seconds(), 2)})
                        self.tb.scalars("train", terms, self.step)
                        self.progress.update(self.step, self.epoch, terms["loss"], lr, seconds())
                    if self.on_step is not None:
                        self.on_step(self.step, terms)
                    due = bool(cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0) or (
                        cfg.checkpoint_minutes > 0 and time.monotonic() - last_ckpt >= 60 * cfg.checkpoint_minutes)
                    stop, due = self._decide(flag, time.monotonic() - t_budget, time_budget_s, max_steps, due)
                    if stop is not None:
                        reason = stop
                        break
                    if cfg.val_every_steps and self.step % cfg.val_every_steps == 0:
                        self.validate(seconds())
                    if due:
                        self.save(seconds())
                        last_ckpt = time.monotonic()
                if reason != "finished":
                    break
                self.epoch += 1
                self.batch_in_epoch = 0
                if cfg.schedule == "step":
                    self.scheduler.step()
                if self.epoch % cfg.val_every == 0 or self.epoch == cfg.epochs:
                    self.validate(seconds())
                if cfg.epoch_end_checkpoints or self.epoch == cfg.epochs:
                    self.save(seconds())
                    last_ckpt = time.monotonic()
            if reason != "finished":
                self.save(seconds())  # first, so a failing validation cannot lose the steps
            if reason in ("time_budget", "max_steps") and self.last_val_step != self.step:
                self.validate(seconds())
                self.save(seconds())
            exit_code = EXIT_SIGNALS.get(flag.signum, 0) if reason == "signal" else 0
        self.progress.message(f"stopped ({reason}) at step {self.step}, epoch {self.epoch}, "
                              f"batch {self.batch_in_epoch}/{self.steps_per_epoch}, {seconds() / 60:.1f} min")
        return TrainResult(reason, self.step, self.epoch, seconds(), self.best, exit_code, losses)

    @contextlib.contextmanager
    def _open_logs(self) -> Iterator[None]:
        """CSV logs and TensorBoard (rank 0 only), closed however the loop ends."""
        main = self.dist.is_main
        self.train_log = CsvLog(self.run_dir / "train_log.csv", TRAIN_FIELDS) if main else None
        self.val_log = CsvLog(self.run_dir / "val_log.csv", VAL_FIELDS) if main else None
        self.tb = TensorBoard(self.run_dir / "tensorboard", enabled=main)
        try:
            yield
        finally:
            for log in (self.train_log, self.val_log):
                if log is not None:
                    log.close()
            self.tb.close()

    def _decide(self, flag: _SignalFlag, elapsed: float, budget: float | None, max_steps: int | None,
                checkpoint_due: bool) -> tuple[str | None, bool]:
        """(why to stop after this step or None, whether a periodic checkpoint is due), agreed over
        ranks with one all-reduce so that every rank stops / checkpoints at the same step."""
        local = torch.tensor([
            flag.signum is not None,
            budget is not None and elapsed + self._validation_reserve(budget) >= budget,
            max_steps is not None and self.step >= max_steps,
            checkpoint_due,
        ], dtype=torch.float32)
        if self.dist.distributed:
            local = local.to(self.device)
            torch.distributed.all_reduce(local, op=torch.distributed.ReduceOp.MAX)
        flags = local.cpu().tolist()
        for name, raised in zip(("signal", "time_budget", "max_steps"), flags[:3], strict=True):
            if raised:
                return name, False
        return None, bool(flags[3])

    def _validation_reserve(self, budget: float) -> float:
        """Seconds kept free for the final validation: the last one's duration, or before any
        validation ran :data:`FIRST_VALIDATION_RESERVE` of the budget (none without validation scenes)."""
        if not self.val_scenes:
            return 0.0
        return self.last_val_seconds if self.last_val_step >= 0 else FIRST_VALIDATION_RESERVE * budget

    def _train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        """One optimisation step on this rank's share of the global batch; terms are averaged
        over ranks (floats: loss, l1, inv, cos, cons: the extra term, 0 without one)."""
        cfg = self.cfg
        loss, terms, extra = step_loss(self.net, batch, self.device, self.precision, self.model_cfg.blocks,
                                       cfg.lambda_inv, cfg.lambda_cos, cfg.inv_penalty, self.extra_loss, self.step)
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"training loss became {loss.item()} at step {self.step + 1}; lower --lr or set the "
                "model's log_scale_clamp, then resume from the last checkpoint"
            )
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        cons = extra if extra is not None else torch.zeros((), device=loss.device)
        values = torch.stack([loss.detach(), terms["l1"], terms["inv"], terms["cos"], cons]).float()
        values = mean_over_ranks(values, self.dist).cpu().tolist()
        return {"loss": values[0], "l1": values[1], "inv": values[2], "cos": values[3], "cons": values[4]}


def validation_section(report: dict[str, Any]) -> dict[str, Any]:
    """The manifest's ``validation`` section from a validation report."""
    return {"split": report.get("split", "validation"), "protocol": report["protocol"], "ratio": report["ratio"],
            "data_range": report["data_range"], "scenes": [s["name"] for s in report["scenes"]],
            "step": report.get("step"), "epoch": report.get("epoch_fraction"),
            **{m: {k: (v if math.isfinite(v) else None) for k, v in report["mean"][m].items()}
               for m in report["methods"]}}

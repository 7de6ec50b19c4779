"""``--method pifnet``: the PIF-Net network run window by window through the engine's pipeline.

Lifecycle (see :mod:`.base`): the weights are read (safely, digest-checked) when the method is
built; :meth:`PIFNetMethod.check_pair` refuses a pair the weights were not trained for, before any
window is read; a streaming statistics pass over the pair gathers what the manifest's
normalisation needs (:mod:`pifnet_engine.model.normalisation`: unit-free ``pair_mean``, or the
fixed scale of older manifests) and refuses input in units the weights were not trained for,
before any window is fused; :meth:`PIFNetMethod.fuse` normalises each batch, pads it to what
the Haar level needs, runs the network and maps the result back to the HSI's units.

Windows and seams. The SSMM scans give every output pixel a receptive field as wide as the
window, so a window's result depends (weakly) on how far its borders are; SE's global pooling
adds a window-wide term too. Every layer works at the MSI resolution (the scans at half of it),
so the context is set in MSI pixels and converted to coarse pixels per ratio: each window gets
``HALO_HR_PX`` of context beyond what it contributes plus a cross-fade overlap of
``OVERLAP_HR_PX``. Measured with ``benchmarks/bench_model.py --window-sensitivity`` on a randomly
initialised model (C=103, s=4, N=4): the output of a fixed core changes by 52 % (RMS, relative
to its std) with no context, 6 % with 16 MSI px, 0.13 % with 32 MSI px and 0.02 % with 48 MSI px,
compared with 64 MSI px of context. Trained weights may remember further: re-measure per
weights file.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F

from pifnet_engine.errors import InputDataError, WeightsError
from pifnet_engine.model.config import window_multiple_lr
from pifnet_engine.model.normalisation import MODE_PAIR_MEAN, PairStatistics, mode_of, scales_for, unit_refusal
from pifnet_engine.model.pifnet import PIFNet
from pifnet_engine.model.weights import in_memory_weights, load_weights, read_manifest
from pifnet_engine.precision import autocast_for, resolve_precision
from pifnet_engine.methods.base import FusionMethod, PairSpec, StatsBatch
from pifnet_engine.methods.gsa import GSAMethod

#: Weights files shipped with the package (NAME.safetensors + NAME.json), trained by ``pifnet-train``.
BUNDLED_DIR = Path(__file__).resolve().parent.parent / "weights"
#: Minimum wavelength tolerance (nm) between the weights' band centres and the raster's.
WAVELENGTH_TOL_NM = 5.0
#: Context beyond the contributed area, MSI pixels on every side (converted per ratio).
HALO_HR_PX = 32
#: Default cross-fade overlap between neighbouring windows, MSI pixels.
OVERLAP_HR_PX = 16


def bundled_weights() -> list[Path]:
    """Manifests of the weights shipped in the package, sorted by name."""
    return sorted(BUNDLED_DIR.glob("*.json")) if BUNDLED_DIR.is_dir() else []


def resolve_weights(weights: str | Path) -> Path:
    """A ``--weights`` value: an existing file (``.safetensors`` or ``.json``) or a bundled name."""
    path = Path(weights)
    if path.is_file():
        return path
    for candidate in bundled_weights():
        if candidate.stem == str(weights):
            return candidate
    names = ", ".join(p.stem for p in bundled_weights()) or "none"
    raise WeightsError(
        f"--weights '{weights}' is neither a file nor a bundled weights name (bundled: {names}); "
        f"give the path of a .safetensors file written by `pifnet-train export`")


def _wavelength_mismatch(side: str, raster_name: str, got: tuple[float, ...] | None,
                         expected: list[float] | None, fwhm: list[float] | None, weights: str) -> str | None:
    if got is None or expected is None or len(got) != len(expected):
        return None
    for k, (g, e) in enumerate(zip(got, expected, strict=True)):
        tol = max(WAVELENGTH_TOL_NM, 0.5 * fwhm[k]) if fwhm else WAVELENGTH_TOL_NM
        if not math.isfinite(g) or abs(g - e) > tol:
            return (f"{side} '{raster_name}' band {k + 1} is centred at {g:.1f} nm but weights "
                    f"'{weights}' expect {e:.1f} nm (tolerance {tol:.1f} nm)")
    return None


def mismatch(manifest: dict, pair: PairSpec) -> str | None:
    """Why weights with ``manifest`` cannot fuse ``pair`` (band counts, ratio, wavelengths), or None."""
    cfg, name = manifest["model"]["config"], manifest["name"]
    if pair.hsi_bands != cfg["hsi_bands"]:
        return f"HSI '{pair.hsi_name}' has {pair.hsi_bands} bands but weights '{name}' expect {cfg['hsi_bands']}"
    if pair.msi_bands != cfg["msi_bands"]:
        return f"MSI '{pair.msi_name}' has {pair.msi_bands} bands but weights '{name}' expect {cfg['msi_bands']}"
    if pair.ratio != cfg["ratio"]:
        return (f"the pair's pixel-size ratio is {pair.ratio} but weights '{name}' were trained for "
                f"ratio {cfg['ratio']}")
    return (_wavelength_mismatch("HSI", pair.hsi_name, pair.hsi_wavelengths_nm, manifest["hsi"].get("wavelengths_nm"),
                                 manifest["hsi"].get("fwhm_nm"), name)
            or _wavelength_mismatch("MSI", pair.msi_name, pair.msi_wavelengths_nm,
                                    manifest["msi"].get("wavelengths_nm"), None, name))


def channels_last_for(device: torch.device) -> bool:
    """Whether the network runs channels-last on ``device`` by default: on the CPU, where oneDNN's
    convolutions are faster in that layout (one 128^2 window of the PaviaU configuration, 2 threads:
    0.29 -> 0.19 s in fp32, 0.154 -> 0.146 s in bf16; outputs within 3e-7 of the contiguous path;
    docs/performance.md). Not on CUDA, where it has not been measured."""
    return device.type == "cpu"


class PIFNetMethod(FusionMethod):
    """PIF-Net fusion with a trained weights file.

    Args:
        device: where the network runs (``self.device``).
        weights: ``NAME``, ``NAME.safetensors`` or ``NAME.json``; None = the bundled default.
        precision: ``"fp32"`` (default), ``"bf16"`` (bfloat16 autocast on the device, CPU or CUDA)
            or ``"auto"`` (bf16 where the device computes it natively), see
            :mod:`pifnet_engine.precision`. Measured numbers (speed, PSNR change) in docs/cli.md.
        channels_last: run the network in the channels-last memory format (the fast path);
            None = :func:`channels_last_for` the device; False = the contiguous reference path.
    """

    name = "pifnet"
    #: Measured on the CPU for the bundled weights (one window of 224 bands, inference mode, peak RSS
    #: growth): 32 B at 384^2, 48 B at 192^2, 77 B at 96^2 (fixed costs dominate small windows).
    work_bytes_per_pixel_band = 48
    #: The pair's statistics: the normalisation (``pair_mean``) and the unit check need them.
    needs_statistics = True

    def __init__(self, device: torch.device | str = "cpu", weights: str | Path | None = None,
                 precision: str = "fp32", channels_last: bool | None = None) -> None:
        super().__init__(device)
        self.precision = resolve_precision(precision, self.device)
        self.channels_last = channels_last_for(self.device) if channels_last is None else channels_last
        self.model: PIFNet | None = None
        self._gsa: GSAMethod | None = None
        self.manifest: dict = {}
        self.weights_name = ""
        if weights is None:
            # Chosen in check_pair: the first bundled weights file that fits the pair.
            self._candidates = bundled_weights()
        else:
            self._load(resolve_weights(weights))
            self._candidates = []

    @classmethod
    def from_model(cls, model: PIFNet, manifest_extra: dict | None = None, device: torch.device | str = "cpu",
                   precision: str = "fp32", name: str = "in-memory") -> "PIFNetMethod":
        """The method for an in-memory ``model`` (e.g. one being trained): fuses exactly as the weights
        file ``save_weights(name, model, manifest_extra)`` would, with a copy of the network (training
        goes on unaffected) and the manifest's checks; no file is written."""
        method = cls(device, weights=None, precision=precision)
        method._candidates = []
        method._use(*in_memory_weights(model, manifest_extra, name))
        return method

    def _load(self, path: Path) -> None:
        self._use(*load_weights(path))

    def _use(self, model: PIFNet, manifest: dict) -> None:
        self.model = model.to(self.device).eval()
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # a documented argument the stubs lack
        self.manifest = manifest
        self.weights_name = str(manifest["name"])
        # A GSA-residual model adds its detail to the GSA image of the pair (same statistics pass).
        self._gsa = GSAMethod(self.device) if model.cfg.residual == "gsa" else None
        self._stats = PairStatistics.empty()
        self._scales: tuple[torch.Tensor, ...] | None = None

    # --- geometry ------------------------------------------------------------------------------
    def halo_lr_px(self, ratio: int) -> int:
        """ceil(HALO_HR_PX / ratio) coarse pixels, at least 2 (the bicubic upsampling's reach)."""
        return max(2, math.ceil(HALO_HR_PX / ratio))

    def default_overlap_lr_px(self, ratio: int) -> int:
        """ceil(OVERLAP_HR_PX / ratio) coarse pixels, at least 1."""
        return max(1, math.ceil(OVERLAP_HR_PX / ratio))

    def window_multiple_lr(self, ratio: int) -> int:
        return window_multiple_lr(ratio)

    def default_batch_size(self) -> int:
        return 8 if self.device.type == "cuda" else 1

    # --- compatibility -------------------------------------------------------------------------
    def check_pair(self, pair: PairSpec) -> None:
        """Refuse a pair whose band counts, ratio or band wavelengths differ from the weights'.

        Without ``--weights``, the first bundled weights file that fits the pair is loaded."""
        if self.model is None:
            reasons = []
            for path in self._candidates:
                manifest = read_manifest(path)
                why = mismatch(manifest, pair)
                if why is None:
                    self._load(path)
                    break
                reasons.append(f"{manifest['name']}: {why}")
            else:
                listed = "; ".join(reasons) if reasons else "none are installed"
                raise WeightsError(
                    f"no bundled PIF-Net weights fit HSI '{pair.hsi_name}' ({pair.hsi_bands} bands) + MSI "
                    f"'{pair.msi_name}' ({pair.msi_bands} bands) at ratio {pair.ratio} ({listed}); pass "
                    f"--weights FILE (train weights for this sensor with `pifnet-train`), or use --method gsa")
        why = mismatch(self.manifest, pair)
        if why is not None:
            raise WeightsError(
                f"{why}; train weights for this sensor with `pifnet-train`, or pass --method gsa")
        super().check_pair(pair)
        self._good = pair.good_mask
        self._scales = None
        if self._gsa is not None:
            self._gsa.check_pair(pair)

    def start_statistics(self) -> None:
        """Empty normalisation statistics (and GSA's sums for a GSA-residual model)."""
        self._stats = PairStatistics.empty()
        self._scales = None
        if self._gsa is not None:
            self._gsa.start_statistics()

    def accumulate(self, batch: StatsBatch) -> None:
        """Valid good-band HSI values and valid MSI values of one core window."""
        self._stats.add(batch.hsi, batch.valid, batch.msi, batch.msi_valid, self._good)
        if self._gsa is not None:
            self._gsa.accumulate(batch)

    def finish_statistics(self) -> None:
        """Refuse input in units the weights were not trained for; fix the normalisation."""
        assert self.model is not None and self.pair is not None
        norm = self.manifest["normalisation"]
        why = unit_refusal(norm, self._stats, self.weights_name, self.pair.hsi_name, self.pair.msi_name)
        if why is not None:
            raise InputDataError(why)
        cfg = self.model.cfg
        if self._gsa is not None:
            self._gsa.finish_statistics()
        parts = scales_for(norm, self._stats, cfg.hsi_bands, cfg.msi_bands)
        self._scales = tuple(torch.as_tensor(p, dtype=torch.float32, device=self.device).reshape(1, -1, 1, 1)
                             for p in parts)

    @property
    def normalisation_text(self) -> str:
        """How the inputs were normalised (for provenance), after :meth:`finish_statistics`."""
        if self._scales is None:
            return ""
        if mode_of(self.manifest["normalisation"]) == MODE_PAIR_MEAN:
            return f"pair_mean hsi/{self._stats.hsi.mean:.6g} msi/{self._stats.msi.mean:.6g}"
        return "fixed (manifest offset/scale)"

    # --- fusion --------------------------------------------------------------------------------
    def fuse(self, hsi: torch.Tensor, msi: torch.Tensor) -> torch.Tensor:
        """(B, C, h, w) + (B, c, h*s, w*s) in physical units -> (B, C, h*s, w*s), same units."""
        assert self.model is not None, "check_pair must run before fuse"
        assert self._scales is not None, "the statistics pass must run before fuse"
        hsi_offset, hsi_scale, msi_offset, msi_scale = self._scales
        s = self.model.cfg.ratio
        h, w = hsi.shape[-2:]
        k = window_multiple_lr(s)
        ph, pw = (-h) % k, (-w) % k
        x = (hsi.float() - hsi_offset) / hsi_scale
        y = (msi.float() - msi_offset) / msi_scale
        base = None
        if self._gsa is not None:
            base = (self._gsa.fuse(hsi.float(), msi.float()) - hsi_offset) / hsi_scale
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode="replicate")
            y = F.pad(y, (0, pw * s, 0, ph * s), mode="replicate")
            if base is not None:
                base = F.pad(base, (0, pw * s, 0, ph * s), mode="replicate")
        if self.channels_last:
            x, y = x.contiguous(memory_format=torch.channels_last), y.contiguous(memory_format=torch.channels_last)
            base = None if base is None else base.contiguous(memory_format=torch.channels_last)
        with autocast_for(self.precision, self.device):
            z = self.model(x, y, with_reference=False, base=base).fused
        z = z.float()[..., : h * s, : w * s].contiguous()
        return z * hsi_scale + hsi_offset

    def provenance(self) -> dict[str, str]:
        tags = super().provenance()
        tags.update({
            "PIFNET_WEIGHTS": self.weights_name,
            "PIFNET_WEIGHTS_SHA256": str(self.manifest["sha256"]),
            "PIFNET_AUTOCAST": "bf16" if self.precision == "bf16" else "none",
            "PIFNET_NORMALISATION": self.normalisation_text,
        })
        return tags

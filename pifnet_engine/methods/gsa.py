"""Gram-Schmidt Adaptive (GSA) in its hyperspectral form (Aiazzi, Baronti, Selva 2007).

For every HSI band k, with X_k the LR-HSI band, Y_m the MSI band m and Y_m^low its average over
each coarse pixel's footprint (all statistics over valid coarse pixels, gathered in one
streaming pass of sums and cross-products in float64):

1. grouping: m(k) = argmax_m corr(X_k, Y_m^low), the MSI band each HSI band correlates best with;
2. intensity of group G_m = {k : m(k) = m}: I_m = sum_{k in G_m} w_k X_k + b, with (w, b) the
   least-squares fit of Y_m^low at low resolution (normal equations on the covariance);
3. injection gains g_k = cov(X_k, I_m) / var(I_m);
4. the MSI band is equalised to the intensity, P_m = (Y_m - mean(Y_m)) * std(I_m) / std(Y_m)
   + mean(I_m) (Y_m statistics at full resolution), and
   Z_k = up(X_k) + g_k * (P_m - up(I_m)), with up = bicubic upsampling (so up(I_m) =
   sum w_k up(X_k) + b).

Bad bands are excluded from the statistics; they come out as plain upsampling (then nodata).
"""

from __future__ import annotations

import numpy as np
import torch

from pifnet_engine.errors import InputDataError
from pifnet_engine.methods.base import FusionMethod, StatsBatch
from pifnet_engine.methods.bicubic import upsample_bicubic


class GSAMethod(FusionMethod):
    name = "gsa"
    needs_statistics = True

    def halo_lr_px(self, ratio: int) -> int:
        return 2

    def start_statistics(self) -> None:
        """Zero the sums (good bands + MSI bands at low resolution, MSI bands at full resolution)."""
        pair = self.pair
        assert pair is not None, "check_pair must run before start_statistics"
        self._good = np.flatnonzero(pair.good_mask)
        n = self._good.size + pair.msi_bands
        self._n = 0
        self._sum = np.zeros(n, np.float64)
        self._cross = np.zeros((n, n), np.float64)
        self._n_hr = 0
        self._sum_hr = np.zeros(pair.msi_bands, np.float64)
        self._sq_hr = np.zeros(pair.msi_bands, np.float64)
        self._params: dict[str, torch.Tensor] | None = None

    def accumulate(self, batch: StatsBatch) -> None:
        valid = batch.valid
        if valid.any():
            z = np.concatenate([batch.hsi[self._good][:, valid], batch.msi_low[:, valid]], axis=0)
            self._n += z.shape[1]
            self._sum += z.sum(axis=1)
            self._cross += z @ z.T
        mv = batch.msi_valid
        if mv.any():
            y = batch.msi[:, mv]
            self._n_hr += y.shape[1]
            self._sum_hr += y.sum(axis=1)
            self._sq_hr += (y * y).sum(axis=1)

    def finish_statistics(self) -> None:
        assert self.pair is not None
        ng, c = self._good.size, self.pair.msi_bands
        if self._n < ng + 2:
            raise InputDataError(
                f"GSA needs more valid overlapping pixels than bands: found {self._n} valid HSI "
                f"pixels for {ng} bands; use a larger overlap between the rasters or --method bicubic")
        mean = self._sum / self._n
        cov = self._cross / self._n - np.outer(mean, mean)
        cxx = cov[:ng, :ng]
        cxy = cov[:ng, ng:]
        var_x = np.clip(np.diag(cxx), 1e-30, None)
        var_y = np.clip(np.diag(cov)[ng:], 1e-30, None)
        corr = cxy / np.sqrt(var_x[:, None] * var_y[None, :])
        group = np.argmax(corr, axis=1)

        C = self.pair.hsi_bands
        weights = np.zeros((c, C), np.float64)     # intensity weights, I_m = W[m] @ X + b[m]
        bias = np.zeros(c, np.float64)
        gains = np.zeros(C, np.float64)
        eq_scale = np.zeros(c, np.float64)
        eq_shift = np.zeros(c, np.float64)
        mean_hr = self._sum_hr / max(self._n_hr, 1)
        std_hr = np.sqrt(np.clip(self._sq_hr / max(self._n_hr, 1) - mean_hr ** 2, 1e-30, None))
        for m in range(c):
            members = np.flatnonzero(group == m)
            if members.size == 0:
                continue
            a = cxx[np.ix_(members, members)]
            ridge = 1e-9 * max(np.trace(a) / members.size, 1e-30)
            w = np.linalg.solve(a + ridge * np.eye(members.size), cxy[members, m])
            var_i = float(w @ a @ w)
            mean_i = float(w @ mean[members] + (mean[ng + m] - w @ mean[members]))
            b = mean[ng + m] - w @ mean[members]
            weights[m, self._good[members]] = w
            bias[m] = b
            if var_i > 1e-30:
                gains[self._good[members]] = (cxx[:, members] @ w)[members] / var_i
            eq_scale[m] = np.sqrt(max(var_i, 0.0)) / std_hr[m]
            eq_shift[m] = mean_i - mean_hr[m] * eq_scale[m]
        onehot = np.zeros((C, c), np.float64)
        good_rows = self._good
        onehot[good_rows, group] = 1.0
        self._params = {
            "weights": torch.tensor(weights, dtype=torch.float32),
            "bias": torch.tensor(bias, dtype=torch.float32),
            "gains": torch.tensor(gains, dtype=torch.float32),
            "eq_scale": torch.tensor(eq_scale, dtype=torch.float32),
            "eq_shift": torch.tensor(eq_shift, dtype=torch.float32),
            "onehot": torch.tensor(onehot, dtype=torch.float32),
        }

    def fuse(self, hsi: torch.Tensor, msi: torch.Tensor) -> torch.Tensor:
        assert self.pair is not None and self._params is not None, "GSA statistics not gathered"
        p = {k: v.to(hsi.device) for k, v in self._params.items()}
        up = upsample_bicubic(hsi, self.pair.ratio)                                # (B,C,H,W)
        intensity = torch.einsum("mc,bchw->bmhw", p["weights"], up) + p["bias"][None, :, None, None]
        pan = msi * p["eq_scale"][None, :, None, None] + p["eq_shift"][None, :, None, None]
        detail = torch.einsum("cm,bmhw->bchw", p["onehot"], pan - intensity)        # (B,C,H,W)
        return up + p["gains"][None, :, None, None] * detail

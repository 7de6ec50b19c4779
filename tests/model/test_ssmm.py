import torch

from pifnet_engine.model.ops import selective_scan_fn
from pifnet_engine.model.ssmm import SSMM, SS2DSegmented, merge_orders, scan_orders


def test_scan_orders_are_the_four_directions() -> None:
    x = torch.arange(6.0).reshape(1, 1, 2, 3)  # [[0,1,2],[3,4,5]]
    xs = scan_orders(x)
    assert xs[0, 0, 0].tolist() == [0, 1, 2, 3, 4, 5]
    assert xs[0, 1, 0].tolist() == [0, 3, 1, 4, 2, 5]
    assert xs[0, 2, 0].tolist() == [5, 4, 3, 2, 1, 0]
    assert xs[0, 3, 0].tolist() == [5, 2, 4, 1, 3, 0]
    torch.testing.assert_close(merge_orders(xs, 2, 3), 4 * x)


def test_segmented_scan_matches_per_segment_direct_scans() -> None:
    """Each (direction, segment) must be scanned with B, C, dt projected from its own channels."""
    torch.manual_seed(0)
    inner, segments, n, r = 4, 2, 3, 1
    ss = SS2DSegmented(inner, segments, n, r).double()
    x = torch.randn(2, inner, 3, 2, dtype=torch.float64)
    out = ss(x)
    xs = scan_orders(x)
    seg = inner // segments
    ys = torch.zeros_like(xs)
    a = -torch.exp(ss.A_log).view(4, inner, n)
    for k in range(4):
        for g in range(segments):
            u = xs[:, k, g * seg:(g + 1) * seg]  # (B, seg, L)
            proj = torch.einsum("jc,bcl->bjl", ss.x_proj_weight[k, g], u)
            dt = torch.einsum("cr,brl->bcl", ss.dt_proj_weight[k, g], proj[:, :r])
            sl = slice(k * inner + g * seg, k * inner + (g + 1) * seg)
            ys[:, k, g * seg:(g + 1) * seg] = selective_scan_fn(
                u.contiguous(), dt.contiguous(), a[k, g * seg:(g + 1) * seg],
                proj[:, r:r + n].contiguous(), proj[:, r + n:].contiguous(),
                D=ss.Ds[sl], delta_bias=ss.dt_bias[sl], delta_softplus=True)
    torch.testing.assert_close(out, merge_orders(ys, 3, 2))


def test_ssmm_receptive_field_is_the_whole_window() -> None:
    torch.manual_seed(0)
    m = SSMM(dim=4, d_state=2, expand=1, segments=2, kernels=(1, 1)).double()
    x = torch.randn(1, 4, 6, 6, dtype=torch.float64)
    x2 = x.clone()
    x2[0, :, 0, 0] += torch.tensor([1.0, -2.0, 0.5, 3.0])  # only the top-left pixel; 1x1 kernels
    diff = (m(x2) - m(x)).abs().sum(1)[0]
    assert (diff > 0).all()  # every pixel, including the far corner, sees it through the scans


def test_zero_out_starts_at_zero() -> None:
    m = SSMM(dim=4, d_state=2, segments=2, kernels=(3, 3), zero_out=True)
    assert m(torch.randn(1, 4, 4, 4)).abs().max().item() == 0.0

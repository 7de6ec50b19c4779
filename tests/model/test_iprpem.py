import torch
import torch.nn.functional as F

from pifnet_engine.model.iprpem import IPRPEM, residue_channel_prior


def test_residue_channel_prior_by_hand() -> None:
    x = torch.tensor([1.0, 5.0, 3.0, -2.0, 0.0, 4.0]).reshape(1, 3, 1, 2)
    # pixel 0 has channels (1, 3, 0) ; pixel 1 has (5, -2, 4)
    assert residue_channel_prior(x).flatten().tolist() == [3.0, 7.0]


def test_eq2_against_direct_computation() -> None:
    torch.manual_seed(0)
    d, h, w = 3, 4, 5
    module = IPRPEM(d, beta=0.7)
    x_s = torch.randn(2, d, h, w, dtype=torch.float64)
    y_s = torch.randn(2, d, h, w, dtype=torch.float64)
    module = module.double()
    out = module(x_s, y_s)

    # Direct computation, pixel by pixel for C_R and with explicit convolutions.
    c_r = torch.empty(2, 1, h, w, dtype=torch.float64)
    for b in range(2):
        for i in range(h):
            for j in range(w):
                values = [x_s[b, c, i, j].item() for c in range(d)]
                c_r[b, 0, i, j] = max(values) - min(values)
    conv1 = F.conv2d(x_s - y_s, module.conv_residual.weight, module.conv_residual.bias, padding=1)
    x_r = torch.clamp(conv1, min=0) * c_r
    x_r = torch.clamp(F.conv2d(x_r, module.conv_prior.weight, module.conv_prior.bias, padding=1), min=0)
    torch.testing.assert_close(out, 0.7 * x_r)
    assert out.abs().sum() > 0


def test_beta_zero_removes_the_prior() -> None:
    module = IPRPEM(3, beta=0.0)
    assert module(torch.randn(1, 3, 4, 4), torch.randn(1, 3, 4, 4)).abs().max().item() == 0.0

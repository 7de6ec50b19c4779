import torch

from pifnet_engine.model.haar import haar_dwt, haar_idwt


def test_known_block() -> None:
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 1, 2, 2)  # a=1 b=2 c=3 d=4
    low, high = haar_dwt(x)
    assert low.item() == 5.0  # (1+2+3+4)/2
    assert high.flatten().tolist() == [-1.0, -2.0, 0.0]  # HL=(1-2+3-4)/2, LH=(1+2-3-4)/2, HH=(1-2-3+4)/2


def test_round_trip_and_energy() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 3, 6, 10, dtype=torch.float64)
    low, high = haar_dwt(x)
    assert low.shape == (2, 3, 3, 5) and high.shape == (2, 9, 3, 5)
    torch.testing.assert_close(haar_idwt(low, high), x, rtol=0, atol=1e-12)
    energy = low.pow(2).sum() + high.pow(2).sum()
    torch.testing.assert_close(energy, x.pow(2).sum())  # orthonormal: det 1

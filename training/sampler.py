"""A resumable distributed sampler: the epoch's order is a function of (seed, epoch), and an epoch
can start from any batch, so a resumed run reads exactly the batches it would have read."""

from __future__ import annotations

from collections.abc import Iterator

from torch.utils.data import Dataset, DistributedSampler


class ResumableSampler(DistributedSampler):
    """:class:`torch.utils.data.DistributedSampler` (shuffled by ``seed + epoch``, padded to a
    multiple of the number of replicas, drop nothing) that skips the first ``start`` indices of
    this rank's share of the epoch (:meth:`set_start`). Works for one replica too."""

    def __init__(self, dataset: Dataset, num_replicas: int = 1, rank: int = 0, seed: int = 0,
                 shuffle: bool = True) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed,
                         drop_last=False)
        self.start = 0

    def set_start(self, start: int) -> None:
        """Skip the first ``start`` indices of this rank's share in the current epoch."""
        self.start = int(start)

    def __iter__(self) -> Iterator[int]:
        indices = list(super().__iter__())
        return iter(indices[self.start:])

    def __len__(self) -> int:
        return max(0, self.num_samples - self.start)

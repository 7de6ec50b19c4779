"""``pifnet-train fit``: self-supervised fitting of PIF-Net to the analyst's own HSI + MSI pair.

Modules: :mod:`.pair` (the pair read as ``fuse`` reads it, degraded by its ratio, a held-out
block), :mod:`.start` (weights that fit, or a fresh model), :mod:`.plan` (patch size, learning
rate, schedule for the time budget), :mod:`.report` (the held-out table and verdict),
:mod:`.run` (the command). See ``docs/fit.md``.
"""

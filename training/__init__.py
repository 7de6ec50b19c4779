"""Training side of the PIF-Net engine: benchmark scenes, the paper's splits, simulated training
pairs, and (in later modules) the trainer, evaluation and weights export behind ``pifnet-train``.

Subpackages and modules:

- :mod:`training.scenes` — one loader per on-disk format (Chikusei ``.mat`` v7.3, Pavia University
  ``.mat`` v5, Houston 2013 GeoTIFF/``.mat``, CAVE PNG folders, any georeferenced raster such as
  the EnMAP tiles) returning a :class:`~training.scenes.scene.Scene`; a compact cache writer.
- :mod:`training.splits` — the paper's train/test regions and the CAVE scene lists, with the
  EnMAP tiles reserved for the demo.
- :mod:`training.pairs` — the simulation protocols (``"paper"`` and ``"centred"``) and the
  ``torch`` patch dataset of (LR-HSI, HR-MSI, target) triples.
"""

"""PIF-Net model: configuration, network, loss and weights files.

Public interface::

    from pifnet_engine.model import PIFNet, PIFNetConfig, PIFNetOutput
    from pifnet_engine.model.loss import pifnet_loss
    from pifnet_engine.model.weights import save_weights, load_weights, read_manifest
"""

from pifnet_engine.model.config import PIFNetConfig, window_multiple_lr
from pifnet_engine.model.pifnet import PIFNet, PIFNetOutput, count_parameters

__all__ = ["PIFNet", "PIFNetConfig", "PIFNetOutput", "count_parameters", "window_multiple_lr"]

"""The plugin's own version. It must equal ``version=`` in ``metadata.txt`` and the engine's
``pifnet_engine.__version__`` in a release (a unit test checks all three). Pure Python."""

PLUGIN_VERSION = "0.1.0"

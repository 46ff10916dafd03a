"""dialer: batch outbound-call campaigns on the Yappr voice-AI platform."""

#: The one place the version is written: pyproject.toml reads it (setuptools dynamic).
__version__ = "0.1.0"

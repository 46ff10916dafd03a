"""dialer: batch outbound-call campaigns on the Yappr voice-AI platform."""

__version__ = "0.1.0"

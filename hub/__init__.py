"""The customer interaction hub: domain core (``hub.core``) and its adapters."""

__version__ = "0.1.0"

"""stakhanov-bot: sourced answers about the Soviet Stakhanovite movement."""

__version__ = "0.1.0"

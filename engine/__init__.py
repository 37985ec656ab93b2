"""llmos engine: the model runtime, the memory tiers and the loop that pages between them.

Nothing here imports Qt; the desktop and the CLI both talk to :mod:`engine.api`.
"""

__version__ = "0.1.0"

"""yizhan domain library: Yunnan geography, the rest-station registry and its analyses.

No web framework is imported here; ``webmap`` builds on this package.
"""

__version__ = "0.1.0"

"""The release of skae, in one place that every module may import."""

__version__ = "0.3.0.dev0"

"""Retention experiments: design files, data access, sufficient-statistics tests, uplift, ROI, reports and the CLI."""

__version__ = "0.1.0"

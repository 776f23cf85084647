"""Time to churn: survival curves, hazard models, RMST, lifetime value and churn-risk scores.

This package takes pandas DataFrames or Ibis tables and never imports :mod:`experiments`.
"""

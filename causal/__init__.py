"""Causal estimators that stand alone: difference-in-differences, event studies, staggered adoption, refutations.

This package takes pandas DataFrames or Ibis tables and never imports :mod:`experiments`.
"""

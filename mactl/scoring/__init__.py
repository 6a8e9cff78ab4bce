"""Scoring stage: fit and engagement scores with decay, grades and lifecycle stages, explainable."""

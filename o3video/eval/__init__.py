"""Evaluation: V-STaR (the main benchmark), judges, and metrics."""

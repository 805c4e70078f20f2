"""Estimators: LASSO, diagonal network, convex PSD solver, quadratic network."""

"""State-evolution predictions: diagonal (LASSO), quadratic (Monte-Carlo and deterministic), Bayes-optimal."""

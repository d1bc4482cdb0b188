"""State as projections: folds over the journal, rebuilt after a restart from a checkpoint."""

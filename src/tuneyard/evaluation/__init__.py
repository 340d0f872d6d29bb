"""What trains again with the engine's Trainer: the test split of a study's best trial
(`evaluate`), the comparisons of `tune compare` and `tune compare-regularisation`, and
`tune export` of a trial that was not kept."""

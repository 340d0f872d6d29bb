"""The sweep engine: options, the one sweep loop, executors and workers, claims on a shared study,
interrupts, pruning and the trainer.
"""

"""The store: Optuna storage as the one record of every trial, the ledger read from it, study folders,
storage faults and the kept best model.
"""

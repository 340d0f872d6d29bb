"""The store: Optuna storage as the one record of every trial (it persists and reads, and
computes nothing about models), study folders, storage faults and the kept best model.
"""

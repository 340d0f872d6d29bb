"""Reading results: the leaderboard and the ledger of a study's trials, the diagnosis of their
curves, the factor of a comparison. Pure functions of stored trials; nothing here trains.
"""

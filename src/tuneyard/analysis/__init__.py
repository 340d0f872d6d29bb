"""Reading results: the leaderboard, the diagnosis of curves, test-set evaluation, the regularisation
comparison and model export.
"""

"""`tune race`: every backend on one space under one epoch budget, its table and plot."""

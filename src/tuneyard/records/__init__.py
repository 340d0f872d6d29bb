"""Trial records, the bottom layer: what every other layer hands around and stores.

`trial`: the proposal a backend makes, the result a trainer gives back, the trial states;
`attributes`: the names of the user attributes tuneyard stores on studies and trials.
Nothing here imports any other part of tuneyard.
"""

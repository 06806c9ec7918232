"""Fitting a run in memory: per-stage peak estimates (traced on fake tensors), a planner that picks
chunk sizes for a memory budget, and retrying a batched step after an out-of-memory error."""

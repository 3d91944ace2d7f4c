"""Helpers of the analysis speed benchmark: data generator and peer scripts."""

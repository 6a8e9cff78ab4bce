"""Batch runs for cron: a recipe's steps in order, one run at a time, logged."""

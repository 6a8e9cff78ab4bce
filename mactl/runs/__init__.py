"""Batch runs for cron: a recipe's steps in order, one run at a time, logged."""

from mactl.runs.lock import RunLock, lock_path
from mactl.runs.recipe import RunRecipe, load_run_recipe
from mactl.runs.runner import RunPlan, RunSummary, plan_run, run_history, run_recipe

__all__ = ["RunLock", "RunPlan", "RunRecipe", "RunSummary", "load_run_recipe", "lock_path", "plan_run",
           "run_history", "run_recipe"]

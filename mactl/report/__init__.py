"""Reports: funnel, channels, scores, merges, segments and assignment load, as tables and Excel charts."""

"""Assignment stage: route leads to reps by rules, round robin / weighted / least loaded, with SLA recycling."""

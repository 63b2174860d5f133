"""Reports: Markdown for people, JSON for machines, a Pareto plot for the trade-off."""

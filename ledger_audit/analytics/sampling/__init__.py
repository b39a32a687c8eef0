"""Statistical audit sampling: attribute sampling and monetary-unit sampling (ANALYTICS.md 3.4).

Stage: analytics (after ``replay``): plans, selections and evaluations are values; nothing
here reads or writes files. Every result names its method and the factor mode it used.
"""

"""Outside the data flow: plotly figures and ipywidgets controls for the notebooks.

May import any stage; arrives with the workbench issue.
"""

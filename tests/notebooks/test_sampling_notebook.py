"""The sampling notebook plans, selects with a recorded seed and renders its sliders."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import DemoFactory
from tests.notebooks.test_notebooks import DefaultsTo, defaults_to, run, text_of, widget_views

__all__ = ["defaults_to"]  # the fixture, imported for pytest


def test_the_sampling_notebook_plans_selects_and_records_its_seed(
    demo_factory: DemoFactory, defaults_to: DefaultsTo, tmp_path: Path
) -> None:
    defaults_to(demo_factory())
    notebook = run("07_sampling.ipynb", tmp_path, seed=7)
    text = text_of(notebook)
    assert "attribute.binomial.clopper_pearson" in text
    assert "plan: n" in text
    assert "mus.poisson.gamma" in text
    assert "'seed': 7" in text
    assert "numpy.random.Generator(PCG64)" in text
    assert "tester_result" in text
    assert widget_views(notebook)  # the sliders rendered
    assert "monetary unit" in text  # over their live table of sample sizes

"""Writing a simulation: its Parquet files, ``truth.json`` and the design file that analyses it."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from experiments.simulate.config import OUTPUT_FILES, SimulationConfigError  # noqa: F401 (OUTPUT_FILES: doctest)
from experiments.simulate.operator import Simulation, simulate_operator  # noqa: F401 (simulate_operator: doctests)


def design_yaml(sim: Simulation, source: str = "experiment.parquet") -> str:
    """The experiment design of a simulation as YAML text (loads with :func:`experiments.design.load_design`).

    Examples
    --------
    >>> text = design_yaml(simulate_operator(n_subscribers=1_000, rng=3))
    >>> "churn_90d" in text
    True
    """
    cfg = sim.config
    w = [float(x) for x in cfg.arm_weights]
    return f"""\
# Written by `retention simulate`: the design of the simulated retention experiment.
kind: experiment
name: simulated_retention_offers
description: >-
  Simulated 3-arm retention experiment (seed {sim.truth['seed']}, {sim.truth['n']} subscribers):
  a free data flow pack and a contract-renewal discount against control.
data:
  source: {source}
  unit: subscriber_id
  arm: arm
  assigned_at: assigned_at
  as_of: {cfg.as_of_date.isoformat()}
  acceptance: accepted
  duration: time_to_churn_days
  event: churn_event
  time_unit: days
arms:
  control:
    weight: {w[0]!r}
  flow_pack:
    weight: {w[1]!r}
    cost:
      per_offer: {float(cfg.flow_pack_cost_per_offer)!r}
  contract_discount:
    weight: {w[2]!r}
    cost:
      per_acceptance: {float(cfg.discount_cost_per_acceptance)!r}
control: control
metrics:
  - name: churn_90d
    column: churned_90d
    kind: binary
    direction: decrease
    role: primary
    maturity_days: 90
  - name: churn_30d
    column: churned_30d
    kind: binary
    direction: decrease
    role: secondary
    maturity_days: 30
  - name: revenue_90d
    column: revenue_90d
    kind: continuous
    direction: increase
    role: guardrail
    maturity_days: 90
    covariate: revenue_pre_90d
    non_inferiority:
      margin: -0.02
      relative: true
analysis:
  alpha: 0.05
  correction: holm
value:
  margin: monthly_margin
  horizon_months: 24
  annual_discount_rate: 0.08
# The simulated eligible population (everyone in subscribers.parquet is eligible) and how to assign it afresh.
population:
  source: subscribers.parquet
  unit: subscriber_id
  covariates: [tenure_months, arpu, data_usage_ratio, cs_calls_90d, days_to_contract_end, plan]
strata: [region, plan]
# Sizing inputs: the historical 90-day churn of subscribers like these, and the smallest effect worth detecting.
power:
  baseline: {round(sim.truth['control']['churn_90d'], 2)!r}
  mde: 0.02
  power: 0.8
  sides: 2
  daily_inflow: {round(sim.truth['n'] / cfg.assignment_days, 1)!r}
# Per-subscriber uplift: the observed drivers of the true effects (docs/simulator.md); no missing values.
uplift:
  features: [data_usage_ratio, days_to_contract_end, price_sensitivity, plan, tenure_months, arpu, cs_calls_90d]
  metric: churn_90d
  segments: [plan]
"""


def _parquet_bytes(df: pd.DataFrame, date_columns: tuple[str, ...] = ()) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    for name in date_columns:
        i = table.schema.get_field_index(name)
        table = table.set_column(i, pa.field(name, pa.date32()), table.column(name).cast(pa.date32()))
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def write_simulation(sim: Simulation, out_dir: Path, force: bool = False) -> dict[str, Path]:
    """Write a simulation to ``out_dir`` (see :data:`OUTPUT_FILES`); refuses to overwrite unless ``force``.

    All files are rendered in memory first and then written atomically, so a failure leaves no partial output.

    Returns
    -------
    dict[str, Path]
        File name (without extension) to path: ``subscribers``, ``experiment``, ``panel``, ``truth_effects``,
        ``truth``, ``design``.

    Raises
    ------
    OutputExistsError
        A file exists and ``force`` is false.
    SimulationConfigError
        ``out_dir`` exists and is not a folder.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     paths = write_simulation(simulate_operator(n_subscribers=1_000, rng=2), Path(tmp) / "sim")
    ...     sorted(p.name for p in paths.values()) == sorted(OUTPUT_FILES)
    True
    """
    from experiments.data.io import to_json, write_outputs

    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise SimulationConfigError(f"--out {str(out_dir)!r} is a file, not a folder; choose a folder for the output")
    contents: dict[str, bytes | str] = {
        "subscribers.parquet": _parquet_bytes(sim.subscribers, ("contract_end_date",)),
        "experiment.parquet": _parquet_bytes(sim.experiment, ("assigned_at", "contract_end_date")),
        "panel.parquet": _parquet_bytes(sim.panel, ("month_start",)),
        "truth_effects.parquet": _parquet_bytes(sim.truth_effects),
        "truth.json": to_json(sim.truth),
        "design.yaml": design_yaml(sim),
    }
    paths = {name: out_dir / name for name in contents}
    write_outputs({paths[name]: data for name, data in contents.items()}, force=force)
    return {name.split(".")[0]: path for name, path in paths.items()}

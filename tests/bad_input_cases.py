"""The bad-input table: the inputs a real user gets wrong, for every ``retention`` command.

:func:`build_base` writes one small, valid set of inputs (simulated with the project's own simulators, seeded);
each :class:`Case` copies it into its own folder, spoils one thing and names the command line to run. The suite
(``tests/experiments/test_bad_input.py``) runs every case and checks the contract of docs/contributing.md: exit code
2, exactly one line on stderr naming the column/key and the fix, no traceback, and no file created or changed.

``expect="ok"`` marks inputs that are legitimately not an error (the reason is in ``note``): the suite then checks
that the command succeeds instead.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

#: the files of :func:`build_base`, and which command reads which.
EXPERIMENT = "experiment.csv"
SUBSCRIBERS = "subscribers.csv"
PANEL = "panel.csv"
EVENTS = "events.csv"
COMPLAINTS = "complaints.csv"
DRIVER = "driver.csv"
GRAPH = "graph.yaml"
DESIGN = "design.yaml"
RISK = "risk.csv"


def build_base(root: Path) -> Path:
    """Write the valid inputs of every command into ``root`` (about 1 s) and return it."""
    from experiments.diagnosis.simulate_driver import GRAPH_YAML, simulate_driver_data
    from experiments.diagnosis.simulate_events import simulate_events
    from experiments.diagnosis.simulate_text import simulate_complaints
    from experiments.simulate.operator import simulate_operator

    root.mkdir(parents=True, exist_ok=True)
    sim = simulate_operator(n_subscribers=1000, rng=20261207)
    sim.experiment.to_csv(root / EXPERIMENT, index=False)
    sim.subscribers.to_csv(root / SUBSCRIBERS, index=False)
    sim.panel.to_csv(root / PANEL, index=False)
    # current subscribers observed for 120 days, churners up to 180: a 30-day risk horizon stays within follow-up
    sim.experiment.assign(time_to_churn_days=np.where(sim.experiment["churn_event"] == 0, 120.0,
                                                      sim.experiment["time_to_churn_days"])).to_csv(root / RISK,
                                                                                                    index=False)
    simulate_events(n_subscribers=200, days=200, rng=3).events.to_csv(root / EVENTS, index=False)
    simulate_complaints(200, lang="en", rng=4).to_csv(root / COMPLAINTS, index=False)
    simulate_driver_data(600, rng=5).frame.to_csv(root / DRIVER, index=False)
    (root / GRAPH).write_text(GRAPH_YAML)
    design = {
        "kind": "experiment", "name": "bad_input",
        "data": {"source": EXPERIMENT, "unit": "subscriber_id", "arm": "arm", "assigned_at": "assigned_at",
                 "as_of": "2026-12-28", "duration": "time_to_churn_days", "event": "churn_event", "time_unit": "days"},
        "arms": {"control": {"weight": 0.34}, "flow_pack": {"weight": 0.33}, "contract_discount": {"weight": 0.33}},
        "control": "control",
        "metrics": [
            {"name": "churn_90d", "column": "churned_90d", "kind": "binary", "direction": "decrease",
             "role": "primary"},
            {"name": "revenue_90d", "column": "revenue_90d", "kind": "continuous", "direction": "increase",
             "role": "guardrail", "covariate": "revenue_pre_90d",
             "non_inferiority": {"margin": -0.02, "relative": True}},
        ],
        "analysis": {"alpha": 0.05, "correction": "holm"},
        "population": {"source": SUBSCRIBERS, "unit": "subscriber_id"},
        "strata": ["region", "plan"],
        "power": {"baseline": 0.16, "mde": 0.02, "power": 0.8, "sides": 2},
        "uplift": {"features": ["data_usage_ratio", "days_to_contract_end", "tenure_months", "arpu"],
                   "metric": "churn_90d"},
    }
    (root / DESIGN).write_text(yaml.safe_dump(design, sort_keys=False))
    return root


# ------------------------------------------------------------------------------------------------ command lines

def _o(d: Path) -> str:
    return str(d / "out")


#: command -> (its normal command line in a case folder ``d``, with ``{data}`` where the spoilt file goes,
#:             the input file it reads by default)
COMMANDS: dict[str, tuple[Callable[[Path, str], list[str]], str]] = {
    "design": (lambda d, f: ["design", str(d / DESIGN), "--json", _o(d) + "/size.json"], SUBSCRIBERS),
    "assign": (lambda d, f: ["assign", str(d / DESIGN), "--population", f, "--out", _o(d) + "/assigned.csv",
                             "--registry", _o(d) + "/registry.duckdb", "--assigned-at", "2026-07-01"], SUBSCRIBERS),
    "monitor": (lambda d, f: ["monitor", str(d / DESIGN), "--data", f, "--json", _o(d) + "/monitor.json"],
                EXPERIMENT),
    "validate": (lambda d, f: ["validate", str(d / DESIGN), "--data", f], EXPERIMENT),
    "analyze": (lambda d, f: ["analyze", str(d / DESIGN), "--data", f, "--out", _o(d)], EXPERIMENT),
    "calibrate": (lambda d, f: ["calibrate", str(d / DESIGN), "--data", f, "--runs", "5", "--json",
                                _o(d) + "/calibration.json"], EXPERIMENT),
    "uplift": (lambda d, f: ["uplift", str(d / DESIGN), "--data", f, "--out", _o(d), "--no-refute"], EXPERIMENT),
    "survival": (lambda d, f: ["survival", "--data", f, "--duration", "time_to_churn_days", "--event", "churn_event",
                               "--group", "arm", "--json", _o(d) + "/survival.json"], EXPERIMENT),
    "risk": (lambda d, f: ["risk", "--data", f, "--duration", "time_to_churn_days", "--event", "churn_event",
                           "--covariates", "tenure_months,arpu", "--horizon", "30", "--out", _o(d) + "/risk.csv"],
             RISK),
    "did": (lambda d, f: ["did", "--data", f, "--unit", "region", "--time", "month", "--outcome", "churn_rate",
                          "--treat", "promo", "--weight", "subscribers", "--se", "cluster", "--n-perm", "0",
                          "--json", _o(d) + "/did.json"], PANEL),
    "profile": (lambda d, f: ["profile", "--data", f, "--target", "churned_90d", "--revenue", "revenue_90d",
                              "--json", _o(d) + "/profile.json"], EXPERIMENT),
    "segment": (lambda d, f: ["segment", "--data", f, "--target", "churned_90d", "--kmeans", "arpu,tenure_months",
                              "--k-max", "3", "--json", _o(d) + "/segments.json"], EXPERIMENT),
    "cockpit": (lambda d, f: ["cockpit", "--data", f, "--target", "churned_90d", "--filter", "plan,region",
                              "--out", _o(d) + "/cockpit.html"], EXPERIMENT),
    "label": (lambda d, f: ["label", "--events", f, "--value", "value", "--split-at", "none",
                            "--out", _o(d) + "/labels.parquet"], EVENTS),
    "reasons": (lambda d, f: ["reasons", "--data", f, "--text", "complaint", "--lang", "en", "--topics", "0",
                              "--out", _o(d)], COMPLAINTS),
    "predict": (lambda d, f: ["predict", "--data", f, "--target", "churned_90d", "--models", "logit", "--folds", "3",
                              "--out", _o(d)], EXPERIMENT),
    "driver-effect": (lambda d, f: ["driver-effect", "--data", f, "--graph", str(d / GRAPH), "--simulations", "2",
                                    "--bootstrap", "5", "--json", _o(d) + "/effect.json"], DRIVER),
}


# ------------------------------------------------------------------------------------------------ spoilers

def _frame(d: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(d / name)


def _save(d: Path, name: str, frame: pd.DataFrame) -> None:
    frame.to_csv(d / name, index=False)


def empty_file(d: Path, name: str) -> None:
    (d / name).write_bytes(b"")


def header_only(d: Path, name: str) -> None:
    (d / name).write_text((d / name).read_text().splitlines()[0] + "\n")


def semicolon_decimal_comma(d: Path, name: str) -> None:
    """A spreadsheet's "CSV" in a European locale: ``;`` between fields, ``,`` as the decimal mark."""
    f = _frame(d, name)
    text = f.to_csv(index=False, sep=";", decimal=",")
    (d / name).write_text(text)


def excel_as_csv(d: Path, name: str) -> None:
    """An .xlsx workbook saved under the .csv name (a zip archive with the workbook's XML inside)."""
    import zipfile

    target = d / name
    with zipfile.ZipFile(target, "w") as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr("xl/workbook.xml", '<?xml version="1.0"?><workbook/>')
        z.writestr("xl/worksheets/sheet1.xml", '<?xml version="1.0"?><worksheet/>')


def gbk_text(d: Path, name: str) -> None:
    """The file re-encoded as GBK, with Chinese text in the first text column (as a Chinese Excel exports it)."""
    f = _frame(d, name)
    col = next(c for c in f.columns if f[c].dtype == object)
    f[col] = ["信号差" if i % 2 else "资费太贵" for i in range(len(f))]
    (d / name).write_bytes(f.to_csv(index=False).encode("gbk"))


def directory(d: Path, name: str) -> None:
    (d / name).unlink()
    (d / name).mkdir()
    (d / name / "notes.txt").write_text("not data\n")


def missing(d: Path, name: str) -> None:
    (d / name).unlink()


FILE_SPOILERS: dict[str, Callable[[Path, str], None]] = {
    "missing file": missing,
    "empty file (0 bytes)": empty_file,
    "header only": header_only,
    "excel xlsx as csv": excel_as_csv,
    "gbk encoded": gbk_text,
    "path is a directory": directory,
}


def column(name: str, col: str, fn: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path], None]:
    def spoil(d: Path) -> None:
        f = _frame(d, name)
        if col not in f.columns:
            raise KeyError(f"fixture {name} has no column {col!r}")
        _save(d, name, fn(f))
    return spoil


def _set(col: str, values):
    def fn(f: pd.DataFrame) -> pd.DataFrame:
        f = f.copy()
        f[col] = values(f) if callable(values) else values
        return f
    return fn


def _rows(pred):
    def fn(f: pd.DataFrame) -> pd.DataFrame:
        return f[pred(f)].reset_index(drop=True)
    return fn


def _every_other(col: str, value):
    return _set(col, lambda f: f[col].astype(object).where(np.arange(len(f)) % 2 == 0, value))


def _dup_ids(col: str):
    return _set(col, lambda f: np.where(np.arange(len(f)) == 1, f[col].iloc[0], f[col]))


def design_edit(fn: Callable[[dict], None]) -> Callable[[Path], None]:
    def spoil(d: Path) -> None:
        raw = yaml.safe_load((d / DESIGN).read_text())
        fn(raw)
        (d / DESIGN).write_text(yaml.safe_dump(raw, sort_keys=False))
    return spoil


# ------------------------------------------------------------------------------------------------ the table

@dataclass(frozen=True)
class Case:
    """One bad input.

    Attributes
    ----------
    id : str
        ``command: what is wrong`` (the pytest id).
    command : str
        The ``retention`` command.
    spoil : callable
        Spoils the case folder (a copy of the base inputs).
    match : tuple of str
        Substrings the stderr line must contain (lower-cased comparison): the column/key and the fix.
    args : callable or None
        The command line, if not the command's normal one (:data:`COMMANDS`).
    expect : {"error", "ok"}
        ``ok``: legitimately not an error (``note`` says why); the command must succeed.
    note : str
        Why, where the decision is not obvious.
    """

    id: str
    command: str
    spoil: Callable[[Path], None]
    match: tuple[str, ...]
    args: Callable[[Path], list[str]] | None = None
    expect: str = "error"
    note: str = ""
    extra: tuple[str, ...] = field(default=())

    def argv(self, d: Path) -> list[str]:
        if self.args is not None:
            return self.args(d)
        make, data = COMMANDS[self.command]
        return [*make(d, str(d / data)), *self.extra]


FILE_MATCH = {
    "missing file": ("does not exist",),
    "empty file (0 bytes)": ("is empty", "0 bytes"),
    "header only": ("header row", "no data rows"),
    "excel xlsx as csv": ("excel", "save it as csv"),
    "gbk encoded": ("not utf-8", "gbk"),
    "path is a directory": ("is a folder", "no .parquet"),
}


def _file_cases() -> list[Case]:
    out = []
    for command, (_, data) in COMMANDS.items():
        for what, spoiler in FILE_SPOILERS.items():
            if command == "design" and what != "empty file (0 bytes)" and what != "header only":
                continue  # design reads the population only to count it; two file cases are enough there
            out.append(Case(f"{command}: {what}", command, (lambda s, n: lambda d: s(d, n))(spoiler, data),
                            FILE_MATCH[what]))
    return out


def _unwritable_parent(d: Path) -> str:
    """An output folder that cannot be created: its parent is a regular file (stops root too)."""
    (d / "blocker").write_text("a file where a folder is expected\n")
    return str(d / "blocker" / "out")


def _readonly_dir(d: Path) -> str:
    ro = d / "readonly"
    ro.mkdir()
    ro.chmod(stat.S_IRUSR | stat.S_IXUSR)
    return str(ro / "out")


def _existing(d: Path, rel: str) -> None:
    p = d / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text("an earlier result\n")


def _nothing(d: Path) -> None:
    return None


CONTENT_CASES: list[Case] = [
    # --- simulate (flags and output only)
    Case("simulate: huge --subscribers", "simulate", _nothing, ("--subscribers", "or fewer"),
         args=lambda d: ["simulate", "--out", _o(d), "--subscribers", str(10**30)]),
    Case("simulate: out folder under a file", "simulate", _nothing, ("blocker", "not a folder"),
         args=lambda d: ["simulate", "--out", _unwritable_parent(d), "--subscribers", "1000"]),
    Case("simulate: existing output without --force", "simulate", lambda d: _existing(d, "out/truth.json"),
         ("already exists", "--force"), args=lambda d: ["simulate", "--out", _o(d), "--subscribers", "1000"]),
    # --- design
    Case("design: NaN --baseline", "design", _nothing, ("--baseline", "nan", "e.g."),
         args=lambda d: ["design", "--baseline", "nan", "--mde", "0.02"]),
    Case("design: inf --mde", "design", _nothing, ("--mde", "inf", "finite"),
         args=lambda d: ["design", "--baseline", "0.16", "--mde", "inf"]),
    Case("design: huge --population-size", "design", _nothing, ("--population-size",),
         args=lambda d: ["design", "--baseline", "0.16", "--mde", "0.02", "--population-size", str(10**30)]),
    Case("design: existing --json without --force", "design", lambda d: _existing(d, "out/size.json"),
         ("already exists", "--force")),
    # --- assign
    Case("assign: duplicate subscriber ids", "assign", column(SUBSCRIBERS, "subscriber_id", _dup_ids("subscriber_id")),
         ("subscriber_id", "duplicate")),
    Case("assign: huge integer ids", "assign",
         column(SUBSCRIBERS, "subscriber_id", _set("subscriber_id", lambda f: f["subscriber_id"].astype(object)
                                                   .map(lambda v: str(10**25 + int(v))))), ("subscriber_id", "text")),
    Case("assign: strata column all missing", "assign", column(SUBSCRIBERS, "region", _set("region", np.nan)),
         ("region", "missing")),
    Case("assign: out folder under a file", "assign", _nothing, ("blocker", "folder"),
         args=lambda d: ["assign", str(d / DESIGN), "--population", str(d / SUBSCRIBERS), "--out",
                         _unwritable_parent(d) + "/a.csv", "--assigned-at", "2026-07-01"]),
    Case("assign: existing output without --force", "assign", lambda d: _existing(d, "out/assigned.csv"),
         ("already exists", "--force")),
    # --- calibrate
    Case("calibrate: --runs 0", "calibrate", _nothing, ("--runs", "at least 1"),
         args=lambda d: ["calibrate", str(d / DESIGN), "--runs", "0", "--json", _o(d) + "/c.json"]),
    Case("calibrate: --runs not a number", "calibrate", _nothing, ("--runs", "whole number"),
         args=lambda d: ["calibrate", str(d / DESIGN), "--runs", "ten", "--json", _o(d) + "/c.json"]),
    Case("calibrate: missing design", "calibrate", _nothing, ("absent.yaml", "does not exist"),
         args=lambda d: ["calibrate", str(d / "absent.yaml"), "--json", _o(d) + "/c.json"]),
    Case("calibrate: NaN in a metric", "calibrate",
         column(EXPERIMENT, "revenue_90d", _every_other("revenue_90d", "NaN")), ("revenue_90d", "missing")),
    Case("calibrate: existing output without --force", "calibrate", lambda d: _existing(d, "out/calibration.json"),
         ("already exists", "--force")),
    # --- analyze
    Case("analyze: metric column is text", "analyze",
         column(EXPERIMENT, "churned_90d", _set("churned_90d", lambda f: np.where(f["churned_90d"] == 1, "churned", "stayed"))),
         ("churned_90d", "string values", "recode")),
    Case("analyze: metric all missing", "analyze", column(EXPERIMENT, "revenue_90d", _set("revenue_90d", np.nan)),
         ("revenue_90d", "missing")),
    Case("analyze: single arm present", "analyze", column(EXPERIMENT, "arm", _rows(lambda f: f["arm"] == "control")),
         ("arm", "flow_pack")),
    Case("analyze: an arm with zero rows", "analyze",
         column(EXPERIMENT, "arm", _rows(lambda f: f["arm"] != "contract_discount")), ("contract_discount",)),
    Case("analyze: duplicate subscriber ids", "analyze",
         column(EXPERIMENT, "subscriber_id", _dup_ids("subscriber_id")), ("subscriber_id", "duplicate")),
    Case("analyze: NaN in a metric", "analyze", column(EXPERIMENT, "revenue_90d", _every_other("revenue_90d", "NaN")),
         ("revenue_90d", "nan")),
    Case("analyze: inf in a metric", "analyze", column(EXPERIMENT, "revenue_90d", _every_other("revenue_90d", "inf")),
         ("revenue_90d", "inf")),
    Case("analyze: huge integer ids", "analyze",
         column(EXPERIMENT, "subscriber_id", _set("subscriber_id", lambda f: f["subscriber_id"].astype(object)
                                                   .map(lambda v: str(10**25 + int(v))))), ("subscriber_id", "text")),
    Case("analyze: all churned", "analyze", column(EXPERIMENT, "churned_90d", _set("churned_90d", 1)),
         ("churned_90d",), expect="ok", note="a constant outcome is valid data: no difference, reported as such"),
    Case("analyze: semicolon csv with decimal commas", "analyze", lambda d: semicolon_decimal_comma(d, EXPERIMENT),
         ("revenue_90d", "decimal")),
    Case("analyze: existing output without --force", "analyze", lambda d: _existing(d, "out/results.json"),
         ("already exists", "--force")),
    Case("analyze: out folder under a file", "analyze", _nothing, ("blocker",),
         args=lambda d: ["analyze", str(d / DESIGN), "--data", str(d / EXPERIMENT), "--out", _unwritable_parent(d)]),
    Case("analyze: design file is a directory", "analyze", _nothing, ("folder",),
         args=lambda d: ["analyze", str(d), "--out", _o(d)]),
    # --- validate / monitor
    Case("validate: single arm present", "validate", column(EXPERIMENT, "arm", _rows(lambda f: f["arm"] == "control")),
         ("arm", "flow_pack")),
    Case("analyze: assigned_at as unparseable text with a maturity rule", "analyze",
         lambda d: (column(EXPERIMENT, "assigned_at", _set("assigned_at", "13/07/2026 kl. 10"))(d),
                    design_edit(lambda r: r["metrics"][0].update(maturity_days=90))(d)), ("assigned_at", "date")),
    Case("validate: assigned_at as unparseable text with a maturity rule", "validate",
         lambda d: (column(EXPERIMENT, "assigned_at", _set("assigned_at", "13/07/2026 kl. 10"))(d),
                    design_edit(lambda r: r["metrics"][0].update(maturity_days=90))(d)), ("assigned_at", "date")),
    Case("monitor: single arm present", "monitor", column(EXPERIMENT, "arm", _rows(lambda f: f["arm"] == "control")),
         ("arm", "flow_pack")),
    Case("monitor: metric column is text", "monitor",
         column(EXPERIMENT, "churned_90d", _set("churned_90d", lambda f: np.where(f["churned_90d"] == 1, "churned", "stayed"))),
         ("churned_90d",)),
    # --- uplift
    Case("uplift: feature all missing", "uplift", column(EXPERIMENT, "arpu", _set("arpu", np.nan)), ("arpu",)),
    Case("uplift: inf in a feature", "uplift", column(EXPERIMENT, "arpu", _every_other("arpu", "inf")), ("arpu",)),
    # --- survival / risk
    Case("survival: negative durations", "survival",
         column(EXPERIMENT, "time_to_churn_days", _set("time_to_churn_days", lambda f: -f["time_to_churn_days"])),
         ("time_to_churn_days", "negative")),
    Case("survival: NaN durations", "survival",
         column(EXPERIMENT, "time_to_churn_days", _every_other("time_to_churn_days", "NaN")),
         ("time_to_churn_days",)),
    Case("survival: inf durations", "survival",
         column(EXPERIMENT, "time_to_churn_days", _every_other("time_to_churn_days", "inf")),
         ("time_to_churn_days",)),
    Case("survival: event not 0/1", "survival", column(EXPERIMENT, "churn_event", _set("churn_event", 7)),
         ("churn_event",)),
    Case("survival: none churned", "survival", column(EXPERIMENT, "churn_event", _set("churn_event", 0)),
         ("churn_event", "no churn event"),
         note="refused: with no event the log-rank test, the hazard ratios and the lifetime values are undefined; "
              "a group without events inside a sample with events is reported (its curve stays at 1)"),
    Case("survival: duration column is text", "survival",
         column(EXPERIMENT, "time_to_churn_days", _set("time_to_churn_days", "three months")),
         ("time_to_churn_days",)),
    Case("risk: none churned", "risk", column(RISK, "churn_event", _set("churn_event", 0)),
         ("churn_event",)),
    Case("risk: all churned", "risk", column(RISK, "churn_event", _set("churn_event", 1)),
         ("churn_event", "active")),
    Case("risk: negative durations", "risk",
         column(RISK, "time_to_churn_days", _set("time_to_churn_days", lambda f: -f["time_to_churn_days"])),
         ("time_to_churn_days", "negative")),
    Case("risk: covariate all missing", "risk", column(RISK, "arpu", _set("arpu", np.nan)), ("arpu",)),
    Case("risk: existing output without --force", "risk", lambda d: _existing(d, "out/risk.csv"),
         ("already exists", "--force")),
    # --- did (the two-unit kielmc shape belongs to the DiD-on-few-units work)
    Case("did: treat not 0/1", "did", column(PANEL, "promo", _set("promo", lambda f: f["promo"] * 3)), ("promo",)),
    Case("did: outcome is text", "did", column(PANEL, "churn_rate", _set("churn_rate", "high")), ("churn_rate",)),
    Case("did: NaN outcome", "did", column(PANEL, "churn_rate", _every_other("churn_rate", "NaN")), ("churn_rate",)),
    Case("did: inf outcome", "did", column(PANEL, "churn_rate", _every_other("churn_rate", "inf")), ("churn_rate",)),
    Case("did: nobody treated", "did", column(PANEL, "promo", _set("promo", 0)), ("promo",)),
    Case("did: duplicate unit-period rows", "did",
         column(PANEL, "month", _set("month", lambda f: np.where(np.arange(len(f)) == 1, f["month"].iloc[0],
                                                                  f["month"]))), ("region", "month"), expect="ok",
         note="not an error: did reads subscriber-month rows too, several rows per unit x period are pooled"),
    # --- profile / segment / cockpit
    Case("profile: target all missing", "profile", column(EXPERIMENT, "churned_90d", _set("churned_90d", np.nan)),
         ("churned_90d",)),
    Case("profile: none churned", "profile", column(EXPERIMENT, "churned_90d", _set("churned_90d", 0)),
         ("churned_90d",)),
    Case("profile: revenue with inf", "profile", column(EXPERIMENT, "revenue_90d", _every_other("revenue_90d", "inf")),
         ("revenue_90d",)),
    Case("segment: k-means column is text", "segment", column(EXPERIMENT, "arpu", _set("arpu", "high")), ("arpu",)),
    Case("segment: k-means column with inf", "segment", column(EXPERIMENT, "arpu", _every_other("arpu", "inf")),
         ("arpu",)),
    Case("cockpit: target all missing", "cockpit", column(EXPERIMENT, "churned_90d", _set("churned_90d", np.nan)),
         ("churned_90d",)),
    Case("cockpit: existing output without --force", "cockpit", lambda d: _existing(d, "out/cockpit.html"),
         ("already exists", "--force")),
    # --- label / reasons / driver-effect
    Case("label: timestamps as unparseable text", "label", column(EVENTS, "ts", _set("ts", "last tuesday")), ("ts",)),
    Case("label: NaN spend", "label", column(EVENTS, "value", _every_other("value", "NaN")), ("value",)),
    Case("label: existing output without --force", "label", lambda d: _existing(d, "out/labels.parquet"),
         ("already exists", "--force")),
    Case("reasons: text column all missing", "reasons", column(COMPLAINTS, "complaint", _set("complaint", np.nan)),
         ("complaint",)),
    Case("driver-effect: confounder all missing", "driver-effect",
         column(DRIVER, "tenure_months", _set("tenure_months", np.nan)), ("tenure_months",)),
    Case("driver-effect: treatment column is text", "driver-effect",
         column(DRIVER, "customer_service_calls", _set("customer_service_calls", "many")), ("customer_service_calls",)),
]

if os.geteuid() != 0:  # root writes through any permission bits; the under-a-file cases above cover root
    CONTENT_CASES.append(
        Case("analyze: output folder without write permission", "analyze", _nothing, ("permission",),
             args=lambda d: ["analyze", str(d / DESIGN), "--data", str(d / EXPERIMENT), "--out", _readonly_dir(d)]))

CASES: list[Case] = _file_cases() + CONTENT_CASES


def make_case_dir(base: Path, target: Path) -> Path:
    """A fresh copy of the base inputs in ``target``."""
    shutil.copytree(base, target)
    return target


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder below ``root``: relative path -> (size, mtime in ns); folders have size -1."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            p = Path(dirpath) / name
            st = p.lstat()
            out[str(p.relative_to(root))] = (-1 if p.is_dir() else st.st_size, st.st_mtime_ns)
    return out

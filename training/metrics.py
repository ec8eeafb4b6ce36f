"""What a trained model scores: errors in data units, skill against repeating the last value."""

from __future__ import annotations

import numpy as np

from .data import Split

SKILL_WARNING = 0.1  # below this skill against persistence, training warns


def mse_in_data_units(sp: Split, pred_norm: np.ndarray, y_norm: np.ndarray) -> float:
    """Mean squared error after undoing the normalization (over every output)."""
    return float(np.mean((sp.norm.decode(pred_norm) - sp.norm.decode(y_norm)) ** 2))


def skill_metrics(sp: Split, test_mse: float) -> dict:
    """The persistence baseline (the sample before each test target as its forecast) on the
    same test targets, and skill = 1 - test MSE / baseline MSE (1: perfect, 0: no better)."""
    truth = sp.levels(sp.y_test)
    baseline = float(np.mean((_persistence(sp, truth) - truth) ** 2))
    return {"baseline_mse": baseline, "skill": 1 - test_mse / baseline if baseline > 0 else None}


def _persistence(sp: Split, truth: np.ndarray) -> np.ndarray:
    """The last sample before each test target, repeated over the horizon."""
    return sp.test_last if truth.ndim == 1 else np.repeat(sp.test_last[:, None], truth.shape[1], 1)


def horizon_metrics(sp: Split, test_pred: np.ndarray) -> dict:
    """For a model of H > 1 samples ahead: test MSE, persistence's and skill at each step of
    the horizon (data units); nothing for H = 1."""
    if test_pred.ndim == 1:
        return {}
    truth = sp.levels(sp.y_test)
    mse = np.mean((sp.levels(test_pred) - truth) ** 2, axis=0)
    base = np.mean((_persistence(sp, truth) - truth) ** 2, axis=0)
    skill = [None if b == 0 else float(1 - m / b) for m, b in zip(mse, base, strict=True)]
    return {
        "horizon_mse": mse.tolist(),
        "horizon_baseline_mse": base.tolist(),
        "horizon_skill": skill,
    }


def skill_warning(sp: Split, metrics: dict) -> str | None:
    """A warning line when the model barely beats repeating the last value, with what to try."""
    if metrics["skill"] is None or metrics["skill"] >= SKILL_WARNING:
        return None
    reach = float(np.abs(sp.y_test).max())  # model units: the training range is [-1, 1]
    why = (
        f"the test part reaches {reach:.2f} times the training range's half-width, where a model "
        "of the level has seen nothing; train on data that covers it"
        if reach > 1.1
        else "try more --epochs or --units, more data (--rows), or another --window"
    )
    verdict = "is worse than" if metrics["skill"] < 0 else "barely beats"
    return (
        f"warning: skill {metrics['skill']:.2f}: the model {verdict} repeating the last value "
        f"(test MSE {metrics['test_mse']:.3g} vs {metrics['baseline_mse']:.3g}); {why}"
    )


def step_ratio(metrics: dict) -> float | None:
    """Step-mode test MSE over window mode's; None when window mode is exact (a constant series)."""
    return metrics["step_test_mse"] / metrics["test_mse"] if metrics["test_mse"] > 0 else None


def skill_text(skill: float | None) -> str:
    """'0.75', or 'n/a' for a constant test part (persistence then has no error to beat)."""
    return "n/a" if skill is None else f"{skill:.2f}"


def horizon_text(metrics: dict) -> str:
    """A model of H samples ahead: its skill at a few steps of the horizon, in words."""
    skill = metrics["horizon_skill"]
    steps = sorted({1, max(1, len(skill) // 4), max(1, len(skill) // 2), len(skill)})
    at = ", ".join(f"{skill_text(skill[k - 1])} at step {k}" for k in steps)
    return (
        f"Forecasting the next {len(skill)} samples: skill against repeating the last value "
        f"{at} (each step's in model.json)"
    )

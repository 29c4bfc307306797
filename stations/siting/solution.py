"""A siting solution: the sites one solver chose, with their marginal gains and bounds."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Solution"]


@dataclass
class Solution:
    """Sites chosen by one solver, in the order chosen (greedy) or ranked by marginal gain (exact)."""

    method: str
    order: np.ndarray  # candidate indices (rows of the model's matrix)
    gains: np.ndarray  # marginal workers newly covered by each site, in order
    base_covered: float  # workers covered by the existing stations
    total: float  # all workers
    time_s: float = 0.0
    status: str = "ok"
    upper_bound: float | None = None  # on the optimal *added* coverage with len(order) (or n) sites
    extra: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.order)

    @property
    def objective(self) -> float:
        """Workers newly covered by the chosen sites."""
        return float(np.sum(self.gains)) if len(self.gains) else 0.0

    @property
    def covered(self) -> float:
        return self.base_covered + self.objective

    @property
    def covered_pct(self) -> float:
        return 100.0 * self.covered / self.total if self.total > 0 else 0.0

    @property
    def before_pct(self) -> float:
        return 100.0 * self.base_covered / self.total if self.total > 0 else 0.0

    def cumulative(self) -> np.ndarray:
        """Covered workers after 0, 1, ..., n sites."""
        return self.base_covered + np.concatenate([[0.0], np.cumsum(self.gains)])

    @property
    def gap(self) -> float | None:
        """Relative gap of this objective to the upper bound, when one is known."""
        if self.upper_bound is None:
            return None
        ub = float(self.upper_bound)
        return 0.0 if ub <= 0 else max(0.0, (ub - self.objective) / ub)

    def summary(self) -> dict:
        out = {
            "method": self.method,
            "sites": self.n,
            "objective_workers": round(self.objective, 3),
            "covered_workers": round(self.covered, 3),
            "covered_pct": round(self.covered_pct, 4),
            "time_s": round(self.time_s, 4),
            "status": self.status,
            "upper_bound": None if self.upper_bound is None else round(float(self.upper_bound), 3),
            "gap": None if self.gap is None else round(self.gap, 6),
        }
        out.update({k: v for k, v in self.extra.items() if isinstance(v, (int, float, str, bool, type(None)))})
        return out

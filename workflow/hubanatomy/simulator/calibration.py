"""The simulator's calibration (data/simulator_calibration.yaml) turned into index vocabularies.

Every categorical trait is simulated as an integer id into one of these vocabularies; -1 means
"absent" (no license tag, no pipeline tag, ...).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from importlib import resources

import numpy as np
import yaml

RELATIONS = ("finetune", "adapter", "quantized", "merge")


def calibration_text() -> str:
    return resources.files("hubanatomy").joinpath("data/simulator_calibration.yaml").read_text()


def _normalised(weights) -> np.ndarray:
    w = np.asarray(list(weights), dtype=float)
    return w / w.sum()


@dataclass
class Calibration:
    raw: dict

    @classmethod
    def default(cls) -> Calibration:
        return cls(yaml.safe_load(calibration_text()))

    @property
    def sha256(self) -> str:
        return hashlib.sha256(calibration_text().encode()).hexdigest()

    # --- kinds -------------------------------------------------------------------------
    @cached_property
    def kinds(self) -> list[str]:
        return list(self.raw["kinds"])

    def kind(self, k: int) -> dict:
        return self.raw["kinds"][self.kinds[k]]

    @cached_property
    def root_kind_p(self) -> np.ndarray:
        return _normalised(self.kind(k)["root_share"] for k in range(len(self.kinds)))

    @cached_property
    def child_kind_p(self) -> np.ndarray:
        return _normalised(self.kind(k)["child_share"] for k in range(len(self.kinds)))

    def relation_p(self, k: int) -> np.ndarray:
        mix = self.kind(k)["relation_mix"]
        return _normalised(mix.get(r, 0.0) for r in RELATIONS)

    # --- licenses ----------------------------------------------------------------------
    @cached_property
    def licenses(self) -> list[str]:
        return [name for name in self.raw["licenses"] if name != "none"]

    @cached_property
    def license_share(self) -> np.ndarray:
        """Share of each license among models that carry one."""
        return _normalised(self.raw["licenses"][name] for name in self.licenses)

    @cached_property
    def license_tagged_share(self) -> float:
        total = sum(self.raw["licenses"].values())
        return 1.0 - self.raw["licenses"]["none"] / total

    @cached_property
    def license_order(self) -> list[str]:
        """Planted drift order: commercial -> restricted -> permissive -> copyleft."""
        classes = self.raw["license_classes"]
        order = [name for c in ("commercial", "restricted", "permissive", "copyleft")
                 for name in classes[c]]
        missing = set(self.licenses) - set(order) - set(classes["placeholder"])
        if missing:
            raise ValueError(f"simulator calibration: licenses without a class: {sorted(missing)}")
        return order

    # --- tasks and libraries -----------------------------------------------------------
    @cached_property
    def tasks(self) -> list[str]:
        return list(self.raw["task_order"])

    def kind_task_p(self, k: int) -> tuple[np.ndarray, float]:
        """(distribution over `tasks`, probability of no pipeline tag) for kind k."""
        spec = self.kind(k)["tasks"]
        absent = spec.get(None, 0.0) / sum(spec.values())
        named = {t: w for t, w in spec.items() if t is not None}
        unknown = set(named) - set(self.tasks)
        if unknown:
            raise ValueError(f"simulator calibration: tasks missing from task_order: {unknown}")
        return _normalised(named.get(t, 0.0) for t in self.tasks), absent

    @cached_property
    def task_share(self) -> np.ndarray:
        """Overall task marginal (root mixture), the target of task mutations."""
        total = np.zeros(len(self.tasks))
        for k in range(len(self.kinds)):
            p, absent = self.kind_task_p(k)
            total += self.root_kind_p[k] * (1 - absent) * p
            total += self.child_kind_p[k] * (1 - absent) * p
        return total / total.sum()

    @cached_property
    def libraries(self) -> list[str]:
        names: list[str] = []
        for k in range(len(self.kinds)):
            for lib in [*self.kind(k)["libraries"], *self.kind(k)["adapter_library"]]:
                if lib is not None and lib not in names:
                    names.append(lib)
        return names

    def kind_library_p(self, k: int) -> np.ndarray:
        """Distribution over `libraries` plus a last slot for "no library"."""
        spec = self.kind(k)["libraries"]
        return _normalised([*(spec.get(lib, 0.0) for lib in self.libraries), spec.get(None, 0.0)])

    def kind_adapter_library_p(self, k: int) -> np.ndarray:
        """Distribution over `libraries` of the adapters published in kind k."""
        spec = self.kind(k)["adapter_library"]
        return _normalised(spec.get(lib, 0.0) for lib in self.libraries)

    # --- languages and datasets --------------------------------------------------------
    @cached_property
    def languages(self) -> list[str]:
        return list(self.raw["languages"]["shares"])

    @cached_property
    def language_share(self) -> np.ndarray:
        """Relative frequency of each language (English first)."""
        return _normalised(self.raw["languages"]["shares"].values())

    @cached_property
    def primary_language_p(self) -> np.ndarray:
        """The first listed language: English with probability primary_english, otherwise
        another language by its share."""
        english = self.languages.index("en")
        others = self.language_share.copy()
        others[english] = 0.0
        p = others / others.sum() * (1 - self.raw["languages"]["primary_english"])
        p[english] = self.raw["languages"]["primary_english"]
        return p

    @cached_property
    def datasets(self) -> list[str]:
        return list(self.raw["datasets"])

    @cached_property
    def dataset_share(self) -> np.ndarray:
        return _normalised(self.raw["datasets"].values())

"""Security-level vectors: one level 0..4 per foundational requirement FR1..FR7 (IEC 62443-3-3 Annex A)."""

from __future__ import annotations

from typing import Any, Iterator

from pydantic import BaseModel, ConfigDict, Field, model_validator

FRS: tuple[str, ...] = ("FR1", "FR2", "FR3", "FR4", "FR5", "FR6", "FR7")
_Level = Field(default=0, ge=0, le=4)


class SLVector(BaseModel):
    """An SL vector. Written either as one number (the same level for every FR) or FR by FR."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    FR1: int = _Level
    FR2: int = _Level
    FR3: int = _Level
    FR4: int = _Level
    FR5: int = _Level
    FR6: int = _Level
    FR7: int = _Level

    @model_validator(mode="before")
    @classmethod
    def _from_number(cls, data: Any) -> Any:
        if isinstance(data, bool):
            raise ValueError("an SL is a number 0..4 or a mapping FR1..FR7")
        if isinstance(data, int):
            if not 0 <= data <= 4:
                raise ValueError(f"SL {data} is out of range 0..4")
            return {fr: data for fr in FRS}
        if isinstance(data, dict):
            return {str(k).upper(): v for k, v in data.items()}
        return data

    @classmethod
    def uniform(cls, level: int) -> "SLVector":
        return cls.model_validate(level)

    def __getitem__(self, fr: str) -> int:
        return getattr(self, fr)

    def items(self) -> Iterator[tuple[str, int]]:
        return ((fr, getattr(self, fr)) for fr in FRS)

    def meets(self, target: "SLVector") -> bool:
        """A target is met when every FR reaches its target level (3-3 Annex A)."""
        return all(self[fr] >= target[fr] for fr in FRS)

    def highest(self) -> int:
        return max(level for _, level in self.items())

    def compact(self) -> str:
        """Annex-A style rendering, e.g. ``{2 2 1 1 2 1 2}``."""
        return "{" + " ".join(str(level) for _, level in self.items()) + "}"

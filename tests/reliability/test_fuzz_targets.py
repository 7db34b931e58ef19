"""The fuzz targets of ``make fuzz`` (``fuzz_targets.py``) stay complete and sound.

Every fact parser and every file loader has a target; every target's seeds (real answers of the simulated
plant, real files) go through it without an undocumented exception; and a few seeded random mutations of
each do too, so a target that has rotted (a seed no longer valid, an import moved) fails in ``make test``
rather than an hour into ``make fuzz``.
"""

from __future__ import annotations

import random

import pytest
from fuzz_targets import build

from auditor.registry import REGISTRY

TARGETS = build()
LOADERS = {"file:inventory", "file:profile", "file:waivers", "file:answers", "file:answers-csv", "file:yaml",
           "file:result-json", "file:evidence-json", "file:import-register-csv", "file:import-ansible-ini",
           "file:import-ansible-yaml", "file:import-nmap-xml"}
DEVICE_BYTES = {"wire:ssh-kexinit", "wire:ssh-identification", "ssh:script-output", "snmp:oid", "snmp:printable-text",
                "snmp:value", "modbus:frame", "s7:szl-answer", "opcua:endpoints", "opcua:data-value"}


def test_every_fact_parser_and_every_file_loader_has_a_target() -> None:
    facts = {f"fact:{name}" for name in REGISTRY.load().facts}
    assert set(TARGETS) == facts | LOADERS | DEVICE_BYTES
    assert all(target.seeds for target in TARGETS.values())


def _mutations(seed: bytes, rng: random.Random, count: int) -> list[bytes]:
    """Byte-level edits as libFuzzer makes them: flip, insert, delete, duplicate a slice, cut."""
    out = []
    for _ in range(count):
        data = bytearray(seed)
        for _ in range(rng.randint(1, 4)):
            op = rng.randrange(5)
            at = rng.randrange(len(data) + 1)
            if op == 0 and data:
                data[min(at, len(data) - 1)] ^= 1 << rng.randrange(8)
            elif op == 1:
                data[at:at] = rng.choice([b"\x00", b"\xff", b"9" * 40, b"-1", b"\n", b"{", b"\"", b":"])
            elif op == 2:
                del data[at:at + rng.randint(1, 64)]
            elif op == 3:
                data[at:at] = data[max(0, at - 32):at]
            else:
                del data[at:]
        out.append(bytes(data))
    return out


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_target_takes_its_seeds_and_their_mutations(name: str) -> None:
    target = TARGETS[name]
    rng = random.Random(name)
    for seed in target.seeds:
        target.one(seed)
        for data in _mutations(seed, rng, 3):
            target.one(data)

"""Write ``simulators/demo_answers.yaml``: the demo plant's answers file, from what a scan leaves open.

``python -m simulators.demo_answers`` starts the demo plant, scans it without answers, and answers every
requirement the scan left open for each component type, as the plant's OT security lead would (document
ids are invented for the demo), with a few entries that show the rules: justified not-applicable answers,
an answer on a row that device evidence fails (overruled), an expired answer, and the PLC vendor's
capability claims. Run it again when checks or their mappings change which rows a scan can judge.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml

OUT = Path(__file__).resolve().parent / "demo_answers.yaml"
LEAD, DATE = "M. Keller, OT security lead", "2026-11-20"
DOCS = {1: "DP-IAM-01 Identity and access management procedure, rev 4",
        2: "DP-UC-02 Use control and authorization standard, rev 2",
        3: "DP-SI-03 System integrity and patch management procedure, rev 5",
        4: "DP-DC-04 Data confidentiality standard, rev 1",
        5: "DP-NET-05 Zone and conduit drawing, rev 7",
        6: "DP-MON-06 Security monitoring runbook, rev 3",
        7: "DP-BCP-07 Backup, recovery and resilience plan, rev 2"}
BY_TYPE = {"host": "Workstation hardening baseline WS-HB-2026 (image build record)",
           "network": "Switch configuration standard NET-CS-3 and the vendor's hardening guide",
           "application": "SCADA server security configuration record SCADA-CFG-11",
           "embedded": "PLC security configuration record PLC-CFG-4 and the vendor's security manual"}
NOT_APPLICABLE = {
    ("CR 2.2", "host"): "No wireless interfaces: the control zone hosts have no radio hardware (asset register "
                        "AR-2026, hardware build sheets).",
    ("CR 2.2", "application"): "The SCADA server runs on wired hosts only; it offers no wireless interface.",
    ("CR 2.2", "embedded"): "PLC hardware has no wireless module (order code in asset register AR-2026).",
    ("CR 3.6", "host"): "Hosts drive no physical outputs; deterministic output is the PLCs' (answered there).",
    ("CR 3.6", "network"): "Switches drive no physical process outputs.",
    ("NDR 1.13", "network"): "The switches are reachable only inside the control zone; no untrusted network "
                             "reaches them (DP-NET-05).",
}
HEADER = """\
# Answers for the demo plant (simulators/plant.py): what the plant's OT security lead attests for the
# requirements no network read can judge, and the PLC vendor's capability claims (SL-C).
# An illustration of an answers file: every document id below is invented for the demo.
# Written by `python -m simulators.demo_answers` from what a scan of the plant leaves open.
#
#   iacs-audit demo                       scans the plant and applies this file
#   iacs-audit questionnaire --result demo-out/result.json --out answers.yaml   writes such a file to fill in
#
# On purpose: the entry for CR 1.7 on hmi-01 is overruled (device evidence fails the row: an answer
# changes nothing), and the restore-test entry for hmi-01 has expired (it no longer counts).
"""


def entries(open_rows: dict[tuple[str, str], list[str]]) -> list[dict[str, Any]]:
    """One answer per (requirement, component type) left open, plus the entries that show the rules."""
    from auditor.assessment.catalog import load_catalog

    catalog = load_catalog()
    out: list[dict[str, Any]] = []
    for (requirement, ctype), _assets in open_rows.items():
        if (requirement, ctype) in NOT_APPLICABLE:
            out.append({"requirement": requirement, "types": [ctype], "answer": "not_applicable",
                        "justification": NOT_APPLICABLE[(requirement, ctype)], "attested_by": LEAD, "date": DATE})
        elif (requirement, ctype) == ("CR 7.3 RE1", "host"):
            out.append({"requirement": requirement, "assets": ["ews-01", "hist-01", "hist-02", "hist-03"],
                        "answer": "met",
                        "evidence": [{"ref": "DP-BCP-07 restore test record RT-2026-10 (checksums verified)"}],
                        "attested_by": LEAD, "date": DATE})
            out.append({"requirement": requirement, "assets": ["hmi-01"], "answer": "met",
                        "evidence": [{"ref": "Restore test record RT-2024-09"}],
                        "justification": "Last restore test of the HMI image; the yearly repeat is overdue.",
                        "attested_by": LEAD, "date": "2024-09-12", "expires": "2025-09-30"})
        else:
            fr = catalog.get(requirement).fr
            out.append({"requirement": requirement, "types": [ctype], "answer": "met",
                        "evidence": [{"ref": DOCS[fr]}, {"ref": BY_TYPE[ctype]}], "attested_by": LEAD, "date": DATE})
    out.append({"requirement": "CR 1.7", "assets": ["hmi-01"], "answer": "met",
                "evidence": [{"ref": "Operator password policy OPS-PW-2"}], "attested_by": LEAD, "date": DATE})
    for fr in range(1, 8):
        out.append({"requirement": f"CR {fr}.*", "assets": ["plc-02"], "capability": True, "answer": "met",
                    "evidence": [{"ref": f"ACME PLC-2000 security manual v3.1, chapter {fr}"}],
                    "attested_by": "ACME Automation PSIRT", "date": "2026-10-01"})
    out.append({"requirement": "EDR *", "assets": ["plc-02"], "capability": True, "answer": "met",
                "evidence": [{"ref": "ACME PLC-2000 security manual v3.1, chapter 8 (embedded device requirements)"}],
                "attested_by": "ACME Automation PSIRT", "date": "2026-10-01"})
    return out


def open_rows_of_demo_scan() -> dict[tuple[str, str], list[str]]:
    """(requirement, component type) -> assets, for every row a scan of the demo plant leaves open."""
    from auditor.app.scan import ScanRequest, run_scan
    from auditor.plant.inventory import load_inventory
    from auditor.assessment.questionnaire import for_result
    from connectors import ScanOptions
    from simulators.plant import Plant

    with tempfile.TemporaryDirectory(prefix="iacs-demo-answers-") as workdir, Plant(Path(workdir)) as plant:
        inventory = load_inventory(plant.inventory_path)
        outcome = run_scan(ScanRequest(inventory=inventory, source=str(plant.inventory_path),
                                       out=Path(workdir) / "out", formats=("json",)),
                           ScanOptions(known_hosts=plant.known_hosts))
    types = {asset.id: asset.type for asset in outcome.result.assets}
    rows: dict[tuple[str, str], list[str]] = {}
    for question in for_result(outcome.result):
        for asset_id in question.assets:
            rows.setdefault((question.requirement.id, types[asset_id]), []).append(asset_id)
    return rows


def main() -> None:
    answers = entries(open_rows_of_demo_scan())
    OUT.write_text(HEADER + yaml.safe_dump({"answers": answers}, sort_keys=False, width=110, allow_unicode=True),
                   encoding="utf-8")
    print(f"wrote {OUT}: {len(answers)} entries")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Regenerates the table part of docs/hostile-catalogue.md from the case table in
Tests/ProxyTests/HostileCatalogueTests.swift (the test `theCatalogueIsDocumented` checks that
every case id is listed). The sections after "## Cases with a Menshen of their own" are kept
as they are: those cases are separate tests written by hand.

    python3 scripts/gen_hostile_catalogue.py
"""
import pathlib
import re

root = pathlib.Path(__file__).resolve().parent.parent
doc_path = root / "docs/hostile-catalogue.md"
source = (root / "Tests/ProxyTests/HostileCatalogueTests.swift").read_text()
doc = doc_path.read_text()
head = doc[: doc.index("\n## 1. One reading")]
tail = doc[doc.index("\n\n## Cases with a Menshen of their own"):]

classes = {
    "T": "1. One reading of the target",
    "P": "2. Deny by default, screened routes, request options, pass-through answers",
    "S": "4–5. Text outside string values; content parts",
    "A": "6. Answer members (whole answers, headers)",
    "R": "6. Answer members (streams)",
    "F": "7. SSE framing",
}
case = re.compile(r'Case\(id: "([A-Z]\d+)", summary: "([^"]*)",(.*?)status: \[([0-9, ]+)\](.*?)\)(?:,|\n)', re.S)
rows = []
for cid, summary, _, status, rest in case.findall(source):
    expected = "HTTP " + status.replace(" ", "")
    gets = re.search(r'upstreamGets: "([^"]+)"', rest)
    client = re.search(r'clientGets: "([^"]+)"', rest)
    if "upstreamGetsNothing: true" in rest:
        expected += "; nothing reaches the upstream"
    elif gets:
        expected += "; the upstream gets `" + gets.group(1) + "`"
    if client:
        expected += "; the client gets `" + client.group(1) + "` (not refused)"
    rows.append((cid, summary, expected))
rows.sort(key=lambda r: ("TPSARF".index(r[0][0]), int(r[0][1:])))

lines, current = [], None
for cid, summary, expected in rows:
    if cid[0] != current:
        current = cid[0]
        lines += ["", "## " + classes[current], "", "| case | what is tried | expected |", "|---|---|---|"]
    lines.append(f"| {cid} | {summary} | {expected} |")
doc_path.write_text(head.rstrip("\n") + "\n" + "\n".join(lines) + tail)
print(f"{len(rows)} cases")

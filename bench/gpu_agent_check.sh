#!/usr/bin/env bash
# Device check: run the agent's node collectors (GPU, OS, SystemD) against the real nvidia-smi
# on a GPU machine, with only ruamel.yaml carried in .devdeps (pip install --target .devdeps ruamel.yaml).
# Writes $OUT/agent-run.txt: each collector's status, the snapshot round trip, the derived criteria.
set -u
export PYTHONPATH="$PWD:$PWD/eidos_agent/src:$PWD/.devdeps"
PY=python3; for c in python3.13 python3.12 python3.11; do if $c -c "import sys; assert sys.version_info >= (3, 11)" 2>/dev/null; then PY=$c; break; fi; done
echo "python: $($PY --version 2>&1) at $PY"; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
$PY - <<'PY' > "$OUT/agent-run.txt" 2>&1
import asyncio, json
from eidos_agent.collectors import build_collectors
from eidos_agent.snapshotter import assemble, collect_all, status_of
from eidos_core.snapshot.criteria import criteria_from_snapshot
from eidos_core.snapshot.model import snapshot_to_document, snapshot_from_document
from eidos_core.io.documents import render
async def main():
    results = await collect_all(build_collectors(["gpu", "os", "systemd"], node_name="device"), 60)
    for r in results: print("collector", r.name, "->", status_of(r))
    snap = assemble(results, node="device", version="dev")
    doc = snapshot_to_document(snap)
    back = snapshot_from_document(json.loads(render(doc, "json")))
    print("round-trip equal:", back == snap)
    print("criteria:", criteria_from_snapshot(snap))
    gpu = [m for m in doc["measurements"] if m["type"] == "GPU"][0]
    print(json.dumps(gpu, indent=1)[:3000])
asyncio.run(main())
PY
echo "rc=$?"; cat "$OUT/agent-run.txt" | head -60

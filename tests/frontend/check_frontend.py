"""Load the pack's UI-format workflows into a running ComfyUI with headless Chromium and report.

A manual check against today's ComfyUI and frontend (CI cannot reach them): see tests/frontend/README.md.

    python tests/frontend/check_frontend.py --url http://127.0.0.1:8199 \
        --workflows ComfyUI/custom_nodes/<pack>/workflows --out frontend_check/

For each workflows/<name>.json it writes into --out:
    <name>_loaded.png      what the canvas shows right after loading (dialogs included)
    <name>_canvas.png      the same after closing any dialog
    <name>_fit.png         after "fit view"
    <name>_report.json     dialogs, console errors, per-node widgets, size/overlap checks and the
                           graphToPrompt() output compared with workflows/api/<name>.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

COLLECT_JS = r"""
() => {
  const app = window.app ?? window.comfyAPI?.app?.app;
  const g = app.graph;
  const LG = window.LiteGraph ?? window.comfyAPI?.litegraph?.LiteGraph;
  const titleH = LG?.NODE_TITLE_HEIGHT ?? 30;
  const nodes = (g._nodes ?? g.nodes).map(n => {
    let computed = null;
    try { computed = Array.from(n.computeSize()); } catch (e) { computed = String(e); }
    return {
      id: n.id, type: n.type, title: n.title, mode: n.mode,
      pos: Array.from(n.pos), size: Array.from(n.size), computed_size: computed,
      missing: !LG?.registered_node_types?.[n.type],
      has_errors: !!n.has_errors,
      widgets: (n.widgets ?? []).map(w => ({name: w.name, type: w.type, value: w.value,
                                            serialize: w.options?.serialize ?? w.serialize})),
      inputs: (n.inputs ?? []).map(i => ({name: i.name, type: i.type, link: i.link,
                                          widget: i.widget?.name ?? null})),
      outputs: (n.outputs ?? []).map(o => ({name: o.name, type: o.type, links: o.links})),
      serialized_widgets_values: n.serialize().widgets_values ?? null,
    };
  });
  const groups = (g._groups ?? g.groups ?? []).map(gr => ({
    title: gr.title, bounding: Array.from(gr._bounding ?? gr.bounding), font_size: gr.font_size,
    color: gr.color,
  }));
  // Nodes 2.0 (Vue nodes) are DOM elements: their rectangles, in graph units, title bar included.
  const cv = app.canvas.canvas.getBoundingClientRect();
  const sc = app.canvas.ds.scale, off = app.canvas.ds.offset;
  const dom_nodes = Array.from(document.querySelectorAll('[data-node-id]')).map(el => {
    const r = el.getBoundingClientRect();
    return {id: el.getAttribute('data-node-id'), box: [(r.left - cv.left) / sc - off[0],
      (r.top - cv.top) / sc - off[1], r.width / sc, r.height / sc].map(v => Math.round(v))};
  });
  return {nodes, groups, dom_nodes, title_height: titleH,
          ds: {scale: app.canvas.ds.scale, offset: Array.from(app.canvas.ds.offset)}};
}
"""

DIALOG_JS = r"""
() => Array.from(document.querySelectorAll('.p-dialog, [role="dialog"], .comfy-modal'))
  .filter(d => d.offsetParent !== null || getComputedStyle(d).display !== 'none')
  .map(d => d.innerText.trim().slice(0, 2000))
  .filter(t => t.length)
"""

TOASTS_JS = r"""
() => Array.from(document.querySelectorAll('.p-toast-message')).map(t => t.innerText.trim())
"""


def overlaps(a, b):
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def crossings(node_id, box, groups):
    """The groups whose edge the node's box [x, y, w, h] crosses (overlapping it without being inside)."""
    out = []
    for gr in groups:
        gb = gr["bounding"]
        inside = (box[0] >= gb[0] and box[1] >= gb[1] and box[0] + box[2] <= gb[0] + gb[2]
                  and box[1] + box[3] <= gb[1] + gb[3])
        if overlaps(box, gb) and not inside:
            out.append({"node": node_id, "group": gr["title"], "node_box": box, "group_box": gb})
    return out


def layout_checks(state, ui):
    """Node-node overlaps (title bar included), nodes outside their intended group, undersized nodes."""
    th = state["title_height"]
    boxes = {n["id"]: [n["pos"][0], n["pos"][1] - th, n["size"][0], n["size"][1] + th] for n in state["nodes"]}
    out = {"overlapping_nodes": [], "nodes_crossing_group_edge": [], "undersized_nodes": [],
           "resized_on_load": []}
    ids = list(boxes)
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            if overlaps(boxes[a], boxes[b]):
                out["overlapping_nodes"].append([a, b])
    for n in state["nodes"]:
        out["nodes_crossing_group_edge"] += crossings(n["id"], boxes[n["id"]], state["groups"])
        cs = n["computed_size"]
        if isinstance(cs, list) and (cs[0] > n["size"][0] + 0.5 or cs[1] > n["size"][1] + 0.5):
            out["undersized_nodes"].append({"node": n["id"], "size": n["size"], "computed": cs})
    file_sizes = {n["id"]: n["size"] for n in ui["nodes"]}
    for n in state["nodes"]:
        fs = file_sizes.get(n["id"])
        if fs and [round(v) for v in fs] != [round(v) for v in n["size"]]:
            out["resized_on_load"].append({"node": n["id"], "file": fs, "now": n["size"]})
    return out


def dom_layout_checks(state):
    """Nodes 2.0 only: DOM node rectangles that overlap each other or cross a group's edge."""
    boxes = {d["id"]: d["box"] for d in state.get("dom_nodes", [])}
    out = {"dom_nodes": len(boxes), "overlapping_nodes": [], "nodes_crossing_group_edge": []}
    ids = list(boxes)
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            if overlaps(boxes[a], boxes[b]):
                out["overlapping_nodes"].append([a, b, boxes[a], boxes[b]])
    for nid, box in boxes.items():
        out["nodes_crossing_group_edge"] += crossings(nid, box, state["groups"])
    return out


def widget_checks(state, ui, api):
    """Each node's widget values by name against the API JSON, and widgets_values round trip."""
    problems, per_node = [], {}
    ui_by_id = {n["id"]: n for n in ui["nodes"]}
    for n in state["nodes"]:
        named = {w["name"]: w["value"] for w in n["widgets"]}
        per_node[n["id"]] = {"type": n["type"], "widgets": [[w["name"], w["type"], w["value"]] for w in n["widgets"]]}
        intended = api.get(str(n["id"]), {}).get("inputs", {})
        for key, want in intended.items():
            if isinstance(want, list):  # a link
                continue
            if key not in named:
                problems.append({"node": n["id"], "type": n["type"], "widget": key, "expected": want,
                                 "got": "<no such widget>"})
            elif named[key] != want and not (isinstance(want, float) and isinstance(named[key], (int, float))
                                             and abs(named[key] - want) < 1e-9):
                problems.append({"node": n["id"], "type": n["type"], "widget": key, "expected": want,
                                 "got": named[key]})
        file_wv = ui_by_id.get(n["id"], {}).get("widgets_values")
        if file_wv is not None and n["serialized_widgets_values"] != file_wv:
            problems.append({"node": n["id"], "type": n["type"], "widget": "<widgets_values round trip>",
                             "expected": file_wv, "got": n["serialized_widgets_values"]})
    return problems, per_node


# Display-only widgets the frontend adds (the video preview of an upload combo): graphToPrompt sends them
# as "" and ComfyUI ignores them; the committed API files leave them out.
DISPLAY_WIDGETS = {"video-preview"}


def compare_prompt(output, api):
    diffs = []
    for nid in sorted(set(output) | set(api), key=lambda s: int(s) if s.isdigit() else s):
        a, b = api.get(nid), output.get(nid)
        if a is None or b is None:
            diffs.append({"node": nid, "committed": a and a["class_type"], "graphToPrompt": b and b["class_type"]})
            continue
        if a["class_type"] != b["class_type"]:
            diffs.append({"node": nid, "field": "class_type", "committed": a["class_type"],
                          "graphToPrompt": b["class_type"]})
        for key in sorted((set(a["inputs"]) | set(b["inputs"])) - DISPLAY_WIDGETS):
            va, vb = a["inputs"].get(key, "<absent>"), b["inputs"].get(key, "<absent>")
            if va != vb:
                diffs.append({"node": nid, "input": key, "committed": va, "graphToPrompt": vb})
        if a.get("_meta") != b.get("_meta"):
            diffs.append({"node": nid, "field": "_meta", "committed": a.get("_meta"),
                          "graphToPrompt": b.get("_meta")})
    return diffs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8199")
    ap.add_argument("--workflows", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--width", type=int, default=1920)
    ap.add_argument("--height", type=int, default=1080)
    ap.add_argument("--preview-image", default="dav_preview_test.png",
                    help="an image in ComfyUI's input folder, shown in the simulated run")
    ap.add_argument("--run-timeout", type=float, default=300, help="with --queue: seconds to wait for the run")
    ap.add_argument("--queue", action="store_true",
                    help="also press Run after loading (only where no checkpoint is installed: it would execute)")
    ap.add_argument("--setting", action="append", default=[], metavar="ID=JSON",
                    help="a frontend setting stored on the server before loading, e.g. Comfy.VueNodes.Enabled=true")
    args = ap.parse_args()
    import urllib.request
    for item in args.setting:
        key, value = item.split("=", 1)
        req = urllib.request.Request(f"{args.url}/api/settings/{key}", data=value.encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req).read()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    wf_dir = Path(args.workflows)
    summary = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        for wf in sorted(wf_dir.glob("*.json")):
            name = wf.stem
            ui = json.loads(wf.read_text())
            api = json.loads((wf_dir / "api" / wf.name).read_text())
            # A fresh page per workflow so that nothing carries over between them.
            page = browser.new_page(viewport={"width": args.width, "height": args.height})
            console = []
            page.on("console", lambda m, console=console: console.append({"type": m.type, "text": m.text[:500],
                                                         "where": m.location.get("url", "")}))
            page.on("pageerror", lambda e, console=console: console.append({"type": "pageerror", "text": str(e)[:500],
                                                           "where": (e.stack or "")[:800]}))
            page.on("response", lambda r, console=console: r.status >= 400 and console.append(
                {"type": "http", "text": f"{r.status} {r.url}"}))
            page.on("requestfailed", lambda r, console=console: console.append(
                {"type": "requestfailed", "text": f"{r.failure} {r.url}"}))
            page.goto(args.url, wait_until="load", timeout=180_000)
            page.wait_for_function("() => (window.app ?? window.comfyAPI?.app?.app)?.graph && "
                                   "document.querySelector('canvas')", timeout=180_000)
            time.sleep(8)  # let extensions finish registering and the default graph settle
            frontend_version = page.evaluate("() => window.__COMFYUI_FRONTEND_VERSION__ ?? null")
            settings = page.evaluate("""() => { const app = window.app ?? window.comfyAPI?.app?.app;
                const get = id => { try { return app.extensionManager?.setting?.get(id)
                    ?? app.ui?.settings?.getSettingValue(id); } catch (e) { return String(e); } };
                return Object.fromEntries(['Comfy.VueNodes.Enabled', 'Comfy.NodeBadge.NodeSourceBadgeMode',
                    'Comfy.EnableWorkflowViewRestore', 'Comfy.Workflow.ShowMissingNodesWarning',
                    'Comfy.UseNewMenu'].map(id => [id, get(id) ?? null])); }""")
            startup_dialogs = page.evaluate(DIALOG_JS)
            page.keyboard.press("Escape")
            time.sleep(1)
            console_before = len(console)
            # What dropping the file on the canvas does: app.handleFile(File).
            page.evaluate(
                """async ([text, fname]) => {
                    const app = window.app ?? window.comfyAPI?.app?.app;
                    const file = new File([text], fname, {type: 'application/json'});
                    await app.handleFile(file);
                }""",
                [wf.read_text(), wf.name],
            )
            time.sleep(6)
            dialogs = page.evaluate(DIALOG_JS)
            toasts = page.evaluate(TOASTS_JS)
            page.screenshot(path=str(out / f"{name}_loaded.png"))
            for _ in range(3):
                page.keyboard.press("Escape")
                time.sleep(0.5)
            for sel in ['.p-dialog-header-close', 'button[aria-label="Close"]']:
                for el in page.query_selector_all(sel):
                    try:
                        el.click(timeout=1000)
                    except Exception:
                        pass
            time.sleep(1)
            # Move the mouse onto an empty corner so no tooltip covers a node.
            page.mouse.move(args.width - 5, args.height - 5)
            page.evaluate("() => (window.app ?? window.comfyAPI?.app?.app).canvas.setDirty(true, true)")
            time.sleep(1)
            page.screenshot(path=str(out / f"{name}_canvas.png"))
            state = page.evaluate(COLLECT_JS)
            prompt = page.evaluate("""async () => {
                const app = window.app ?? window.comfyAPI?.app?.app;
                const p = await app.graphToPrompt();
                return {output: p.output, workflow_nodes: p.workflow.nodes.length};
            }""")
            # Fit the whole graph into the view, as an artist would press "." to do.
            try:
                page.evaluate("""() => { const app = window.app ?? window.comfyAPI?.app?.app;
                    const c = app.canvas; const items = [...(app.graph._nodes ?? app.graph.nodes),
                        ...(app.graph._groups ?? app.graph.groups ?? [])];
                    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
                    for (const it of items) { const b = it.boundingRect ?? it._bounding ?? [it.pos[0],
                        it.pos[1] - 30, it.size[0], it.size[1] + 30];
                        x0 = Math.min(x0, b[0]); y0 = Math.min(y0, b[1]);
                        x1 = Math.max(x1, b[0] + b[2]); y1 = Math.max(y1, b[1] + b[3]); }
                    if (c.ds.fitToBounds) c.ds.fitToBounds([x0, y0, x1 - x0, y1 - y0], {zoom: 0.9});
                    else if (c.fitViewToSelectionAnimated) { c.selectItems?.();
                        c.fitViewToSelectionAnimated({duration: 1}); c.deselectAll?.(); }
                    c.setDirty(true, true); return [c.ds.scale, [x0, y0, x1, y1]]; }""")
            except Exception as e:  # noqa: BLE001
                console.append({"type": "fit-view", "text": str(e)})
            time.sleep(2)
            page.screenshot(path=str(out / f"{name}_fit.png"))
            # What the canvas looks like after a run: an 'executed' message for every image output node
            # (PreviewImage, SaveImage) showing a 640x480 test picture from the input folder.
            sim = page.evaluate("""async (image) => {
                const app = window.app ?? window.comfyAPI?.app?.app;
                const api = app.api ?? window.comfyAPI?.api?.api;
                const ids = (app.graph._nodes ?? app.graph.nodes)
                    .filter(n => n.type === 'PreviewImage' || n.type === 'SaveImage').map(n => String(n.id));
                for (const id of ids) api.dispatchCustomEvent('executed', {node: id, display_node: id,
                    prompt_id: 'sim', output: {images: [{filename: image, subfolder: '', type: 'input'}]}});
                return ids; }""", args.preview_image)
            time.sleep(4)
            page.evaluate("() => (window.app ?? window.comfyAPI?.app?.app).canvas.setDirty(true, true)")
            time.sleep(1)
            page.screenshot(path=str(out / f"{name}_after_run_sim.png"))
            state_after_run = page.evaluate(COLLECT_JS)
            queued = None
            if args.queue:
                # Press Run (queue the prompt): with no checkpoint installed the server refuses it at
                # validation; what the artist then sees is screenshotted. It executes the graph otherwise!
                for _ in range(2):
                    page.keyboard.press("Escape")
                queued = page.evaluate("""async () => { const app = window.app ?? window.comfyAPI?.app?.app;
                    try { return String(await app.queuePrompt(0, 1)); } catch (e) { return 'threw: ' + e; } }""")
                time.sleep(4)
                queued = {"returned": queued, "dialogs": page.evaluate(DIALOG_JS), "toasts": page.evaluate(TOASTS_JS)}
                page.screenshot(path=str(out / f"{name}_after_run_click.png"))
                # then wait for the queue to drain: what the nodes show after the run (previews on the node)
                deadline = time.monotonic() + args.run_timeout
                while time.monotonic() < deadline and page.evaluate("""async () => {
                        const q = await (await fetch('/queue')).json();
                        return q.queue_running.length + q.queue_pending.length; }"""):
                    time.sleep(1)
                time.sleep(3)
                page.evaluate("() => (window.app ?? window.comfyAPI?.app?.app).canvas.setDirty(true, true)")
                page.screenshot(path=str(out / f"{name}_after_run_done.png"))
            widget_problems, per_node = widget_checks(state, ui, api)
            report = {
                "workflow": str(wf),
                "frontend_version": frontend_version,
                "settings": settings,
                "startup_dialogs": startup_dialogs,
                "dialogs_after_load": dialogs,
                "toasts_after_load": toasts,
                "missing_nodes": [[n["id"], n["type"]] for n in state["nodes"] if n["missing"]],
                "nodes_loaded": len(state["nodes"]), "nodes_in_file": len(ui["nodes"]),
                "groups_loaded": state["groups"], "groups_in_file": len(ui["groups"]),
                "canvas_ds": state["ds"],
                "widget_problems": widget_problems,
                "graphToPrompt_vs_committed_api": compare_prompt(prompt["output"], api),
                "graphToPrompt_output": prompt["output"],
                "layout": layout_checks(state, ui),
                "dom_nodes": state.get("dom_nodes", []),
                "dom_layout": dom_layout_checks(state),
                "dom_layout_after_simulated_run": dom_layout_checks(state_after_run),
                "simulated_executed_nodes": sim,
                "queue_prompt": queued,
                "layout_after_simulated_run": layout_checks(state_after_run, ui),
                "console_after_load": console[console_before:],
                "console_all_errors": [c for c in console if c["type"] in ("error", "pageerror", "http",
                                                                           "requestfailed")],
                "nodes": state["nodes"],
                "widgets_by_node": per_node,
            }
            (out / f"{name}_report.json").write_text(json.dumps(report, indent=2, default=str))
            summary[name] = {k: report[k] for k in ("frontend_version", "dialogs_after_load", "missing_nodes",
                                                    "widget_problems", "graphToPrompt_vs_committed_api")}
            summary[name]["layout"] = {k: len(v) for k, v in report["layout"].items()}
            summary[name]["layout_after_simulated_run"] = {
                k: len(v) for k, v in report["layout_after_simulated_run"].items()}
            for key in ("dom_layout", "dom_layout_after_simulated_run"):
                summary[name][key] = {k: (v if isinstance(v, int) else len(v)) for k, v in report[key].items()}
            summary[name]["console_errors"] = len(report["console_all_errors"])
            page.close()
        browser.close()
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    print(json.dumps(summary, indent=2, default=str))


if __name__ == "__main__":
    main()

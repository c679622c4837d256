// Two versions of an assistant or a prompt side by side, with their line diff.

import { get } from "../api.js";
import { field, fill, h, notice, pretty, when } from "../dom.js";
import { diffLines } from "../diff.js";

const HIDDEN = new Set(["object", "created_at", "version", "assistant_id", "id"]);

function text(version) {
  const shown = Object.fromEntries(Object.entries(version).filter(([k]) => !HIDDEN.has(k)));
  return pretty(shown);
}

/** The versions panel for `path` (…/versions), filled into `root`. */
export async function renderVersions(root, path) {
  const page = await get(`${path}?limit=100`);
  const versions = page.data; // newest first
  fill(root, h("h2", { id: "versions-title" }, `Versions (${versions.length}${page.has_more ? "+" : ""})`));
  if (versions.length < 2) {
    root.append(notice("Only one version so far: save a change to compare."));
    return;
  }
  const option = (v) => h("option", { value: String(v.version) }, `v${v.version} · ${when(v.created_at)}`);
  const left = h("select", { id: "version-left" }, versions.map(option));
  const right = h("select", { id: "version-right" }, versions.map(option));
  left.value = String(versions[1].version);
  right.value = String(versions[0].version);
  const out = h("div", { class: "diff", id: "version-diff", role: "table", "aria-label": "Version diff" });
  const draw = () => {
    const a = versions.find((v) => String(v.version) === left.value);
    const b = versions.find((v) => String(v.version) === right.value);
    fill(out, h("div", { class: "head", role: "columnheader" }, `v${a.version}`), h("div", { class: "head", role: "columnheader" }, `v${b.version}`));
    for (const row of diffLines(text(a), text(b))) {
      const l = row.kind === "changed" ? "changed-left" : row.kind;
      const r = row.kind === "changed" ? "changed-right" : row.kind;
      out.append(
        h("div", { class: row.left === null ? "empty" : l, role: "cell" }, row.left === null ? "" : (row.kind === "same" ? "  " : "- ") + row.left),
        h("div", { class: row.right === null ? "empty" : r, role: "cell" }, row.right === null ? "" : (row.kind === "same" ? "  " : "+ ") + row.right),
      );
    }
  };
  left.addEventListener("change", draw);
  right.addEventListener("change", draw);
  root.append(h("div", { class: "row" }, field("Left", left), field("Right", right)), out);
  draw();
}

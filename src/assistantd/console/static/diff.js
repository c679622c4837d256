// A line diff (longest common subsequence), for comparing two versions of an assistant or a prompt side
// by side. Versions are a few hundred lines at most, so the quadratic table is fine.

/** Lines of `a` and `b` aligned: [{left, right, kind}] with kind "same", "removed", "added" or "changed". */
export function diffLines(a, b) {
  const x = a.split("\n");
  const y = b.split("\n");
  const n = x.length;
  const m = y.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = x[i] === y[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const raw = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) {
      raw.push({ left: x[i++], right: y[j++], kind: "same" });
    } else if (j < m && (i >= n || lcs[i][j + 1] > lcs[i + 1][j])) {
      raw.push({ left: null, right: y[j++], kind: "added" });
    } else {
      raw.push({ left: x[i++], right: null, kind: "removed" });
    }
  }
  // Pair a run of removals with the additions right after it: one "changed" row each, as editors show.
  const out = [];
  for (let k = 0; k < raw.length; ) {
    if (raw[k].kind !== "removed") {
      out.push(raw[k++]);
      continue;
    }
    const removed = [];
    while (k < raw.length && raw[k].kind === "removed") removed.push(raw[k++]);
    const added = [];
    while (k < raw.length && raw[k].kind === "added") added.push(raw[k++]);
    const pairs = Math.max(removed.length, added.length);
    for (let p = 0; p < pairs; p++) {
      const left = removed[p]?.left ?? null;
      const right = added[p]?.right ?? null;
      out.push({ left, right, kind: left !== null && right !== null ? "changed" : left !== null ? "removed" : "added" });
    }
  }
  return out;
}

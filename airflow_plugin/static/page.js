// The Secrets page: fetches the JSON next to it and renders it as text (never as HTML).
"use strict";

const $ = (id) => document.getElementById(id);

async function getJSON(path) {
  const response = await fetch(path, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!response.ok) {
    let detail = "";
    try { detail = (await response.json()).detail || ""; } catch (e) { /* not JSON */ }
    const why = response.status === 401 ? "log in to Airflow first"
      : response.status === 403 ? "your role may not read connections and variables" : detail;
    throw new Error(`${path}: HTTP ${response.status}${why ? ` (${why})` : ""}`);
  }
  return response.json();
}

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined || text === "" ? "—" : String(text);
  if (cls) td.className = cls;
  return td;
}

function fill(table, rows, columns, empty) {
  const body = $(table).tBodies[0];
  body.replaceChildren();
  if (rows.length === 0) {
    const tr = document.createElement("tr");
    const td = cell(empty, "empty");
    td.colSpan = $(table).tHead.rows[0].cells.length;
    tr.append(td);
    body.append(tr);
    return;
  }
  for (const row of rows) {
    const tr = document.createElement("tr");
    for (const column of columns) tr.append(column(row));
    body.append(tr);
  }
}

function problem(message) {
  const banner = $("banner");
  const line = document.createElement("div");
  line.textContent = message;
  banner.append(line);
  banner.hidden = false;
}

function nameRows(table, part, label) {
  const rows = part.items;
  fill(table, rows, [
    (r) => cell(r.shadowed ? `${r.name} (shadowed)` : r.name, r.shadowed ? "mono muted" : "mono"),
    (r) => cell(r.store),
    (r) => cell(r.physical, "mono"),
    (r) => cell(r.version, "mono"),
  ], `No ${label} in the configured stores.`);
  for (const failure of part.errors) problem(`Listing ${label} in ${failure.store} failed: ${failure.error}`);
  if (part.truncated) problem(`Only the first ${rows.length} ${label} are shown.`);
}

async function loadStores() {
  const data = await getJSON("api/stores");
  $("config").textContent = `Config: ${data.config || "the embedded default"} · chain: ${data.chain.join(" → ")}`;
  fill("stores", data.items, [
    (r) => cell(r.store, "mono"),
    (r) => cell(r.kind),
    (r) => cell(r.healthy ? "healthy" : `unavailable: ${r.error}`, r.healthy ? "ok" : "bad"),
  ], "No stores configured.");
}

async function loadNames() {
  const data = await getJSON("api/names");
  nameRows("connections", data.connections, "connections");
  nameRows("variables", data.variables, "variables");
}

async function loadDb() {
  const data = await getJSON("api/db-connections");
  const rows = data.items.flatMap((c) => c.fields.map((f) => ({ ...f, conn_id: c.conn_id, conn_type: c.conn_type })));
  fill("db", rows, [
    (r) => cell(r.conn_id, "mono"),
    (r) => cell(r.conn_type),
    (r) => cell(r.field, "mono"),
    (r) => cell(r.malformed ? "malformed reference (text withheld)" : r.reference, r.malformed ? "bad" : "mono"),
  ], "No connection in Airflow's database holds a reference.");
}

async function loadAudit() {
  const data = await getJSON("api/audit?limit=50");
  $("audit-note").textContent = data.configured ? `From ${data.path}, newest first.` : "No audit log is configured ([audit] path).";
  fill("audit", data.items, [
    (r) => cell(new Date(r.at * 1000).toISOString().replace("T", " ").slice(0, 19)),
    (r) => cell(r.principal),
    (r) => cell(r.ref, "mono"),
    (r) => cell(r.store),
    (r) => cell(r.name, "mono"),
    (r) => cell(r.version, "mono"),
    (r) => cell(r.outcome, r.outcome === "ok" || r.outcome === "cached" ? "ok" : "bad"),
  ], data.configured ? "No resolutions recorded yet." : "—");
}

function describe(r) {
  const parts = [
    ["Reference", r.ref], ["Found", r.found ? "yes" : "no"], ["Served from cache", r.cached ? "yes" : "no"],
    ["Store", r.store], ["Physical name", r.name ?? r.physical], ["Version", r.version],
  ];
  if (r.airflow_db !== undefined) parts.push(["In Airflow's database", r.airflow_db ? "yes" : "no"]);
  if (r.error) parts.push(["Error", r.error]);
  return parts;
}

async function lookup(event) {
  event.preventDefault();
  const q = $("q").value.trim();
  const out = $("result");
  out.replaceChildren();
  if (!q) return;
  const params = new URLSearchParams({ kind: $("kind").value, q });
  try {
    const r = await getJSON(`api/lookup?${params}`);
    const table = document.createElement("table");
    table.id = "lookup-result";
    for (const [k, v] of describe({ ...r, name: r.physical })) {
      const tr = document.createElement("tr");
      const th = document.createElement("th");
      th.textContent = k;
      tr.append(th, cell(v, "mono"));
      table.append(tr);
    }
    for (const f of Array.isArray(r.fields) ? r.fields : []) {
      const tr = document.createElement("tr");
      const th = document.createElement("th");
      th.textContent = `field ${f.field}`;
      const where = f.malformed ? "malformed reference" : `${f.reference} → ${f.found ? `${f.store} ${f.physical}${f.version ? ` v${f.version}` : ""}` : `not found${f.error ? `: ${f.error}` : ""}`}`;
      tr.append(th, cell(where, "mono"));
      table.append(tr);
    }
    out.append(table);
  } catch (error) {
    const p = document.createElement("p");
    p.className = "bad";
    p.textContent = error.message;
    out.append(p);
  }
  loadAudit().catch((e) => problem(e.message));
}

document.addEventListener("DOMContentLoaded", () => {
  $("lookup").addEventListener("submit", lookup);
  for (const load of [loadStores, loadNames, loadDb, loadAudit]) load().catch((e) => problem(e.message));
});

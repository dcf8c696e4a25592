// The pages' buttons and the run page's live graph. Plain JS, no build step.
// Every change goes through the workspace's own Jobs API with the token, as a script would.
"use strict";

const TOKEN = document.querySelector('meta[name="day7-token"]').content;
const STATE_CLASSES = JSON.parse(document.getElementById("state-classes").textContent);
const stateClass = (s) => STATE_CLASSES[s] || "pending";

function toast(message, bad) {
  const el = document.getElementById("toast");
  el.textContent = message;
  el.className = "show" + (bad ? " bad" : "");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.className = ""; }, 6000);
}

async function api(method, path, body) {
  const reply = await fetch(path, {
    method,
    headers: { "Authorization": "Bearer " + TOKEN, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await reply.json().catch(() => ({}));
  if (!reply.ok) {
    const message = data.message || (reply.status + " " + reply.statusText);
    toast(message, true);
    throw new Error(message);
  }
  return data;
}

function formParameters(form) {
  const out = {};
  form.querySelectorAll("input[data-param]").forEach((input) => { out[input.name] = input.value; });
  return out;
}

const ALL_CLASSES = [...new Set(Object.values(STATE_CLASSES))];

function setBadge(el, state) {  // classList: SVG elements' className is not a string
  el.classList.remove(...ALL_CLASSES);
  el.classList.add(stateClass(state));
  el.dataset.state = state;
}

// ------------------------------------------------------------------ job page

function setupJobPage() {
  const form = document.getElementById("run-now-form");
  if (form) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = document.getElementById("run-now-button");
      button.disabled = true;
      try {
        const params = formParameters(form);
        const body = { job_id: Number(form.dataset.jobId) };
        if (Object.keys(params).length) body.job_parameters = params;
        const reply = await api("POST", "/api/2.2/jobs/run-now", body);
        window.location.href = "/runs/" + reply.run_id;
      } catch (e) {
        button.disabled = false;
      }
    });
  }
  const toggle = document.getElementById("pause-toggle");
  if (toggle) {
    toggle.addEventListener("click", async () => {
      toggle.disabled = true;
      try {
        const jobId = Number(toggle.dataset.jobId);
        const block = toggle.dataset.block;
        const pausing = toggle.dataset.paused !== "true";
        if (toggle.dataset.kind === "file") {   // a bundle job: its file says whether it is paused
          await editorCall("/jobs/" + jobId + "/pause", { block, paused: pausing });
        } else {                                 // an API job: jobs/update, as the workspace's UI does
          const job = await api("GET", "/api/2.2/jobs/get?job_id=" + jobId);
          const current = Object.assign({}, job.settings[block]);
          current.pause_status = pausing ? "PAUSED" : "UNPAUSED";
          await api("POST", "/api/2.2/jobs/update", { job_id: jobId, new_settings: { [block]: current } });
        }
        window.location.reload();
      } catch (e) {
        toggle.disabled = false;
      }
    });
  }
}

// ------------------------------------------------------------------ run page

let source = null;

function applySnapshot(snap) {
  const badge = document.getElementById("run-state");
  setBadge(badge, snap.state);
  badge.textContent = snap.state;
  for (const [key, task] of Object.entries(snap.tasks)) {
    const node = document.getElementById("node-" + key);
    if (!node) continue;
    setBadge(node, task.state);
    node.querySelector("text.state").textContent = task.state + (task.duration ? " · " + task.duration : "");
    node.setAttribute("href", "/task-runs/" + task.task_run_id);
  }
  const run = document.getElementById("run");
  const seen = run.dataset.seen;
  // a job cluster's Spark UI appears once its JVM is up and goes with it: the tables' refresh swaps the links
  const now = snap.attempts + "/" + snap.repairs + "/" + snap.terminal + "/" + snap.spark_uis.length;
  run.dataset.seen = now;
  if (seen !== undefined && seen !== now) refreshTables();
  document.getElementById("cancel-button").hidden = snap.terminal;
  document.getElementById("repair-open").hidden = !snap.terminal;
  run.dataset.terminal = snap.terminal ? "true" : "false";
}

// The tables below the graph (attempts, repairs, the repair selection) come from the server's
// rendering of the same page, swapped in place: the page never reloads.
async function refreshTables() {
  const reply = await fetch(window.location.pathname, { headers: { "Accept": "text/html" } });
  if (!reply.ok) return;
  const doc = new DOMParser().parseFromString(await reply.text(), "text/html");
  for (const id of ["attempts", "repair-history", "repair-form", "run-meta", "run-parameters", "spark-uis"]) {
    const fresh = doc.getElementById(id);
    const here = document.getElementById(id);
    if (fresh && here) here.replaceWith(document.adoptNode(fresh));
  }
  const run = doc.getElementById("run");
  if (run) document.getElementById("run").dataset.latestRepairId = run.dataset.latestRepairId;
  bindRepairForm();
}

function follow(runId) {
  if (source) source.close();
  source = new EventSource("/runs/" + runId + "/events");
  source.addEventListener("state", (event) => {
    const snap = JSON.parse(event.data);
    applySnapshot(snap);
    if (snap.terminal) { source.close(); source = null; }
  });
  source.addEventListener("gone", () => { source.close(); source = null; });
}

function bindRepairForm() {
  const form = document.getElementById("repair-form");
  if (!form || form.dataset.bound) return;
  form.dataset.bound = "1";
  const run = document.getElementById("run");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const tasks = [...form.querySelectorAll('input[name="rerun"]:checked')].map((i) => i.value);
    if (!tasks.length) { toast("Select at least one task to repair.", true); return; }
    const body = { run_id: Number(run.dataset.runId), rerun_tasks: tasks };
    if (run.dataset.latestRepairId) body.latest_repair_id = Number(run.dataset.latestRepairId);
    const params = formParameters(form);
    if (Object.keys(params).length) body.job_parameters = params;
    document.getElementById("repair-submit").disabled = true;
    try {
      await api("POST", "/api/2.2/jobs/runs/repair", body);
      document.getElementById("repair-dialog").hidden = true;
      toast("Repairing " + tasks.join(", "));
      follow(run.dataset.runId);
    } finally {
      const submit = document.getElementById("repair-submit");
      if (submit) submit.disabled = false;
    }
  });
  document.getElementById("repair-close").addEventListener("click", () => {
    document.getElementById("repair-dialog").hidden = true;
  });
}

function setupRunPage() {
  const run = document.getElementById("run");
  if (!run) return;
  const runId = run.dataset.runId;
  if (run.dataset.terminal !== "true") follow(runId);
  document.getElementById("repair-open").addEventListener("click", () => {
    document.getElementById("repair-dialog").hidden = false;
  });
  document.getElementById("cancel-button").addEventListener("click", async () => {
    await api("POST", "/api/2.2/jobs/runs/cancel", { run_id: Number(runId) });
    toast("Cancel requested");
    follow(runId);
  });
  bindRepairForm();
}

setupJobPage();
setupRunPage();

// ------------------------------------------------------------------ job editor

function addRow(tbody, templateId, values) {
  const row = document.getElementById(templateId).content.firstElementChild.cloneNode(true);
  for (const input of row.querySelectorAll("[data-f]")) {
    const v = values[input.dataset.f];
    if (v !== undefined && v !== null) input.value = Array.isArray(v) ? v.join(", ") : v;
  }
  row.querySelector(".remove-row").addEventListener("click", () => row.remove());
  tbody.appendChild(row);
}

function rowsOf(container) {
  return [...container.children].map((row) => {
    const out = {};
    row.querySelectorAll("[data-f]").forEach((i) => { out[i.dataset.f] = i.value; });
    return out;
  });
}

function editorPayload(form) {
  const tasks = rowsOf(document.querySelector("#task-rows tbody")).map((t) => Object.assign(t, {
    depends_on: t.depends_on.split(",").map((s) => s.trim()).filter(Boolean) }));
  return {
    name: form.elements.name.value, file: form.elements.file.value, job_key: form.elements.job_key.value,
    tasks, parameters: rowsOf(document.getElementById("param-rows")),
    schedule: { quartz_cron_expression: form.elements.cron.value, timezone_id: form.elements.timezone_id.value,
                paused: form.elements.paused.checked },
  };
}

async function editorCall(path, payload) {
  const reply = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" },
                                    body: JSON.stringify(payload) });
  if (!reply.ok) {
    const data = await reply.json().catch(() => ({}));
    toast(data.message || reply.statusText, true);
    throw new Error(data.message);
  }
  return reply;
}

function setupEditor() {
  const form = document.getElementById("editor");
  if (!form) return;
  const initial = JSON.parse(document.getElementById("editor-form").textContent);
  const tasks = document.querySelector("#task-rows tbody");
  const params = document.getElementById("param-rows");
  initial.tasks.forEach((t) => addRow(tasks, "task-row", t));
  if (!initial.tasks.length) addRow(tasks, "task-row", {});
  initial.parameters.forEach((p) => addRow(params, "param-row", p));
  document.getElementById("add-task").addEventListener("click", () => addRow(tasks, "task-row", {}));
  document.getElementById("add-param").addEventListener("click", () => addRow(params, "param-row", {}));
  document.getElementById("daily-2am").addEventListener("click", (e) => {
    form.elements.cron.value = e.target.dataset.cron;
  });
  document.getElementById("view-yaml").addEventListener("click", async () => {
    const reply = await editorCall("/jobs/editor/preview", editorPayload(form));
    document.getElementById("yaml-pane").textContent = await reply.text();
    document.getElementById("yaml-card").hidden = false;
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const reply = await editorCall("/jobs/editor/save", editorPayload(form));
    const saved = await reply.json();
    window.location.href = "/jobs/" + saved.job_id;
  });
}

setupEditor();

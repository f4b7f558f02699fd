/*
 * app.js - hive's web timeline: the flows, a flow's DAG with live task
 * states, each task's attempts on a time axis, and an attempt's retry
 * context next to its diff and check output.
 *
 * It reads only the routes of docs/serve.md (the same JSON documents as the
 * CLI's --json) and follows /api/v1/events/stream for live updates.  Every
 * string from the log (titles, outputs, diffs, reasons) reaches the DOM as a
 * text node or an attribute value - never through innerHTML - so a task
 * titled "<script>" stays text.  No framework, no build step: this file is
 * embedded in the hive binary as it is.
 */
"use strict";

(function () {
	const API = "/api/v1";
	const SVGNS = "http://www.w3.org/2000/svg";

	/* Every event type of docs/events.md's catalog.  The stream names each
	 * event (`event: TYPE`), and EventSource hands a named event only to the
	 * listeners of that name, so a type missing here would not refresh the
	 * page: make test-web fails when the catalog has a type this list lacks. */
	const EVENT_TYPES = [
		"project_created", "task_created", "flow_created", "flow_started", "flow_paused",
		"flow_resumed", "flow_completed", "flow_failed", "flow_aborted", "task_ready",
		"task_blocked", "task_state_changed", "task_retry_scheduled", "task_retry_requested",
		"task_escalated", "task_aborted", "retry_context_assembled", "attempt_started",
		"runtime_started", "runtime_exited", "changes_recorded", "check_started",
		"check_completed", "check_flaky", "attempt_completed", "attempt_crashed", "circuit_opened",
		"circuit_half_opened", "circuit_closed", "worktree_released", "branch_deleted",
		"flow_collected", "task_edited", "task_accepted", "flow_landed",
		"flow_rebased", "task_rebased", "spare_removed",
	];

	const view = {
		route: { name: "flows" },
		flow: null,       // flow status document of the flow shown
		attempts: [],     // attempt list of that flow
		attempt: null,    // attempt inspect document of the selected attempt
		token: 0,         // bumped on navigation: late answers of an old view are dropped
		refreshTimer: 0,
		tickTimer: 0,
	};

	const live = { es: null, opened: false, lastSeq: 0, events: 0, dup: 0, gap: 0, retryMs: 500, timer: 0 };

	/* ---- DOM helpers: text nodes and attributes only ------------------ */

	function add(el, kids) {
		for (const k of kids.flat(Infinity)) {
			if (k === null || k === undefined || k === false) continue;
			el.appendChild(typeof k === "object" ? k : document.createTextNode(String(k)));
		}
		return el;
	}

	/* Replaces EL's children (replaceChildren would turn a null into "null"). */
	function put(el, ...kids) {
		el.replaceChildren();
		return add(el, kids);
	}

	function attrs(el, a) {
		for (const [k, v] of Object.entries(a || {})) {
			if (v === null || v === undefined || v === false) continue;
			if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
			else el.setAttribute(k, String(v));
		}
		return el;
	}

	function h(tag, a, ...kids) {
		return add(attrs(document.createElement(tag), a), kids);
	}

	function svg(tag, a, ...kids) {
		return add(attrs(document.createElementNS(SVGNS, tag), a), kids);
	}

	/* A state or outcome used in a class name: log data, so only a plain word. */
	function word(s) {
		return typeof s === "string" && /^[a-z_]{1,40}$/.test(s) ? s : "unknown";
	}

	function badge(s) {
		return h("span", { class: "badge s-" + word(s) }, s || "?");
	}

	function link(hash, a, ...kids) {
		return h("a", Object.assign({ href: hash }, a || {}), ...kids);
	}

	function flowHash(fid) { return "#/flow/" + encodeURIComponent(fid); }
	function attemptHash(fid, aid) { return flowHash(fid) + "/attempt/" + encodeURIComponent(aid); }

	/* ---- time ---------------------------------------------------------- */

	function ms(iso) {
		const t = Date.parse(iso || "");
		return Number.isNaN(t) ? null : t;
	}

	function dur(n) {
		if (n === null || n === undefined) return "";
		if (n < 1000) return Math.round(n) + " ms";
		if (n < 60000) return (n / 1000).toFixed(n < 10000 ? 2 : 1) + " s";
		const m = Math.floor(n / 60000);
		if (m < 60) return m + " min " + Math.round((n % 60000) / 1000) + " s";
		return Math.floor(m / 60) + " h " + (m % 60) + " min";
	}

	function clock(iso) {
		const t = ms(iso);
		return t === null ? "" : new Date(t).toLocaleString();
	}

	/* ---- the API ------------------------------------------------------- */

	class ApiError extends Error {
		constructor(status, message) { super(message); this.status = status; }
	}

	async function api(path, text) {
		const r = await fetch(API + path, {
			credentials: "same-origin",
			headers: { Accept: text ? "text/plain" : "application/json" },
		});
		if (!r.ok) {
			let msg = r.status + " " + r.statusText;
			try {
				const j = await r.json();
				if (j && j.error && j.error.message) msg = j.error.message;
			} catch (_) { /* not a JSON error body */ }
			throw new ApiError(r.status, msg);
		}
		return text ? r.text() : r.json();
	}

	/* A list document: a bare array, or an object holding it under KEY
	 * (documents carry "schema": 2, so a list may come wrapped). */
	function list(doc, key) {
		if (Array.isArray(doc)) return doc;
		if (doc && Array.isArray(doc[key])) return doc[key];
		if (doc && typeof doc === "object") {
			for (const v of Object.values(doc)) if (Array.isArray(v)) return v;
		}
		return [];
	}

	/* ---- layout of the page ------------------------------------------- */

	const main = () => document.getElementById("main");

	function crumbs(...parts) {
		const nav = document.getElementById("crumbs");
		put(nav);
		for (const p of parts) add(nav, [h("span", { class: "sep" }, "/"), p]);
	}

	function showError(e) {
		if (e instanceof ApiError && e.status === 401) {
			put(main(), h("section", { class: "panel error", id: "auth" },
				h("h2", null, "Not signed in"),
				h("p", null, "Open the URL that ", h("code", null, "hive serve"),
					" printed (it carries the token) once in this browser; it sets a cookie.")));
			return;
		}
		put(main(), h("section", { class: "panel error" },
			h("h2", null, e instanceof ApiError ? "Error " + e.status : "Error"),
			h("p", null, e && e.message ? e.message : String(e))));
	}

	/* ---- routing: #/  #/flow/F  #/flow/F/attempt/A ---------------------- */

	function parseRoute() {
		const p = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
		if (p[0] === "flow" && p[1]) return { name: "flow", flow: p[1], attempt: p[2] === "attempt" ? p[3] : null };
		return { name: "flows" };
	}

	function navigate() {
		const r = parseRoute();
		const sameFlow = r.name === "flow" && view.route.name === "flow" && view.route.flow === r.flow;
		view.route = r;
		view.token++;
		if (r.name === "flows") {
			view.flow = null;
			view.attempt = null;
			loadFlows();
		} else if (sameFlow && view.flow) {
			renderFlowView();
			loadAttempt();
		} else {
			view.flow = null;
			view.attempt = null;
			put(main(), h("p", { class: "muted" }, "loading…"));
			loadFlow().then(loadAttempt);
		}
	}

	/* ---- the flows ------------------------------------------------------ */

	async function loadFlows() {
		const token = view.token;
		try {
			const [flows, projects] = await Promise.all([api("/flows"), api("/projects").catch(() => [])]);
			if (token === view.token) renderFlows(list(flows, "flows"), list(projects, "projects"));
		} catch (e) {
			if (token === view.token) showError(e);
		}
	}

	function renderFlows(flows, projects) {
		crumbs(h("span", null, "flows"));
		const pname = new Map(projects.map((p) => [p.id, p.name]));
		flows = flows.slice().sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)));
		const rows = flows.map((f) => h("tr", { class: "flow-row", "data-flow": f.id },
			h("td", null, link(flowHash(f.id), { class: "flow-link" }, f.name || f.id)),
			h("td", null, pname.get(f.project_id) || ""),
			h("td", null, badge(f.state)),
			h("td", { class: "num" }, Array.isArray(f.task_ids) ? f.task_ids.length : (f.tasks ?? "")),
			h("td", null, clock(f.created_at)),
			h("td", null, clock(f.state_since))));
		put(main(), h("section", { class: "panel", id: "flows" },
			h("h2", null, "Flows"),
			flows.length === 0 ? h("p", { class: "muted" }, "No flows yet: ", h("code", null, "hive flow create --file SPEC.json")) :
				h("table", { class: "grid" },
					h("thead", null, h("tr", null, ["flow", "project", "state", "tasks", "created", "since"].map((t) => h("th", null, t)))),
					h("tbody", null, rows))));
	}

	/* ---- a flow --------------------------------------------------------- */

	async function loadFlow() {
		const token = view.token;
		const f = encodeURIComponent(view.route.flow);
		try {
			const [status, attempts] = await Promise.all([
				api("/flows/" + f + "/status"),
				api("/attempts?flow=" + f),
			]);
			if (token !== view.token) return;
			view.flow = status;
			view.attempts = list(attempts, "attempts");
			renderFlowView();
		} catch (e) {
			if (token !== view.token) return;
			// A refresh that fails (the server restarting) keeps what is on
			// screen; the stream's reconnect refreshes it again.
			if (view.flow && document.getElementById("flow")) setLive(false, "refresh failed: " + e.message);
			else showError(e);
		}
	}

	function flowTasks() {
		return view.flow ? list(view.flow.tasks, "tasks") : [];
	}

	function renderFlowView() {
		const doc = view.flow;
		const flow = doc.flow || {};
		crumbs(link("#/", null, "flows"), h("span", null, flow.name || flow.id));
		let root = document.getElementById("flow");
		if (!root || root.dataset.flow !== flow.id) {
			root = h("div", { id: "flow", "data-flow": flow.id },
				h("section", { class: "panel", id: "flow-head" }),
				h("section", { class: "panel", id: "dag-panel" }),
				h("section", { class: "panel", id: "timeline-panel" }),
				h("section", { class: "panel", id: "attempt", hidden: "" }));
			put(main(), root);
		}
		renderFlowHead(doc);
		renderDag(flowTasks());
		renderTimeline(flowTasks(), view.attempts);
		scheduleTick();
	}

	function renderFlowHead(doc) {
		const flow = doc.flow || {};
		const notes = [];
		if (flow.reason) notes.push(flow.reason);
		for (const n of list(doc.notes || doc.blocking || [], "notes")) {
			notes.push(typeof n === "string" ? n : (n.note || n.reason || n.message || JSON.stringify(n)));
		}
		put(document.getElementById("flow-head"),
			h("h2", null, flow.name || flow.id, " ", badge(flow.state)),
			h("p", { class: "muted" }, "id ", h("code", null, flow.id || ""),
				" · created ", clock(flow.created_at), " · ", flow.state || "", " since ", clock(flow.state_since)),
			notes.length ? h("ul", { class: "notes" }, notes.map((n) => h("li", null, n))) : null);
	}

	/* Columns by dependency depth (the longest chain of dependencies inside
	 * the flow), rows in the order of the flow, each column ordered by where
	 * its dependencies sit so that edges cross less. */
	function layoutDag(tasks) {
		const byId = new Map(tasks.map((t) => [t.id, t]));
		const depth = new Map();
		const deps = (t) => (Array.isArray(t.depends_on) ? t.depends_on : []).filter((d) => byId.has(d));
		const depthOf = (t, seen) => {
			if (depth.has(t.id)) return depth.get(t.id);
			if (seen.has(t.id)) return 0; // a cycle: hive refuses them; never loop
			seen.add(t.id);
			let d = 0;
			for (const dep of deps(t)) d = Math.max(d, depthOf(byId.get(dep), seen) + 1);
			depth.set(t.id, d);
			return d;
		};
		const cols = [];
		for (const t of tasks) {
			const d = depthOf(t, new Set());
			(cols[d] = cols[d] || []).push(t);
		}
		const row = new Map();
		cols.forEach((col, ci) => {
			if (ci > 0) {
				const key = (t) => {
					const r = deps(t).map((d) => row.get(d)).filter((x) => x !== undefined);
					return r.length ? r.reduce((a, b) => a + b, 0) / r.length : 0;
				};
				col.sort((a, b) => key(a) - key(b));
			}
			col.forEach((t, ri) => row.set(t.id, ri));
		});
		return { cols, deps, depth, row };
	}

	const NODE_W = 180, NODE_H = 52, GAP_X = 64, GAP_Y = 18, PAD = 12;

	function renderDag(tasks) {
		const panel = document.getElementById("dag-panel");
		const { cols, deps } = layoutDag(tasks);
		const pos = new Map();
		let rows = 0;
		cols.forEach((col, ci) => col.forEach((t, ri) => {
			pos.set(t.id, { x: PAD + ci * (NODE_W + GAP_X), y: PAD + ri * (NODE_H + GAP_Y) });
			rows = Math.max(rows, ri + 1);
		}));
		const width = PAD * 2 + Math.max(1, cols.length) * (NODE_W + GAP_X) - GAP_X;
		const height = PAD * 2 + Math.max(1, rows) * (NODE_H + GAP_Y) - GAP_Y;
		const edges = [], nodes = [];
		for (const t of tasks) {
			const b = pos.get(t.id);
			for (const d of deps(t)) {
				const a = pos.get(d);
				const x1 = a.x + NODE_W, y1 = a.y + NODE_H / 2, x2 = b.x - 4, y2 = b.y + NODE_H / 2;
				const mx = (x1 + x2) / 2;
				edges.push(svg("path", {
					class: "edge", "marker-end": "url(#arrow)", "data-from": d, "data-to": t.id,
					d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`,
				}));
			}
			nodes.push(dagNode(t, b));
		}
		const defs = svg("defs", null, svg("marker", {
			id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto",
		}, svg("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead" })));
		put(panel, h("h3", null, "Tasks"),
			tasks.length === 0 ? h("p", { class: "muted" }, "This flow has no tasks.") :
				h("div", { class: "scroll" }, svg("svg", {
					id: "dag", width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
					"aria-label": "the flow's tasks by dependency depth",
				}, defs, edges, nodes)));
	}

	function dagNode(t, p) {
		const last = t.last_attempt_id;
		const n = Number(t.attempts) || 0;
		const g = svg("g", {
			class: "node s-" + word(t.state) + (view.route.attempt && (t.attempt_ids || []).includes(view.route.attempt) ? " selected" : ""),
			transform: `translate(${p.x},${p.y})`, "data-task": t.id, "data-key": t.key, "data-state": t.state,
			tabindex: last ? 0 : null,
			onclick: last ? () => { location.hash = attemptHash(view.flow.flow.id, last); } : null,
			onkeydown: last ? (ev) => { if (ev.key === "Enter") location.hash = attemptHash(view.flow.flow.id, last); } : null,
		},
		svg("title", null, (t.title || t.key) + (t.reason ? "\n" + t.reason : "")),
		svg("rect", { width: NODE_W, height: NODE_H, rx: 7, class: "box" }),
		svg("rect", { width: 6, height: NODE_H, rx: 3, class: "stripe" }),
		svg("text", { x: 14, y: 20, class: "key" }, clip(t.key || t.id, 22)),
		svg("text", { x: 14, y: 39, class: "state" }, (t.state || "?") + (n ? `  ·  ${n} attempt${n > 1 ? "s" : ""}` : "")));
		return g;
	}

	function clip(s, n) {
		s = String(s);
		return s.length > n ? s.slice(0, n - 1) + "…" : s;
	}

	/* ---- attempts on a time axis --------------------------------------- */

	const TICKS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 15e3, 3e4, 6e4, 12e4, 3e5, 6e5,
		9e5, 18e5, 36e5, 72e5, 216e5, 432e5, 864e5];

	function attemptSpan(a, now) {
		const s = ms(a.started_at);
		let e = ms(a.completed_at);
		const running = !a.completed_at && !a.outcome;
		if (e === null) e = running ? now : (s !== null && a.duration_ms ? s + a.duration_ms : s);
		return { s, e, running };
	}

	function renderTimeline(tasks, attempts) {
		const panel = document.getElementById("timeline-panel");
		if (!panel) return;
		const now = Date.now();
		const spans = attempts.map((a) => Object.assign({ a }, attemptSpan(a, now))).filter((x) => x.s !== null);
		if (spans.length === 0) {
			put(panel, h("h3", null, "Attempts"), h("p", { class: "muted", id: "no-attempts" }, "No attempt has started yet."));
			return;
		}
		const t0 = Math.min(...spans.map((x) => x.s));
		const t1 = Math.max(t0 + 1, ...spans.map((x) => x.e));
		const LABEL = 150, ROW = 30, AXIS = 26;
		const width = Math.max(480, (panel.clientWidth || 900) - 32);
		const plot = width - LABEL - 16;
		const x = (t) => LABEL + ((t - t0) / (t1 - t0)) * plot;
		const order = new Map();
		tasksInDagOrder(tasks).forEach((t, i) => order.set(t.id, i));
		for (const sp of spans) if (!order.has(sp.a.task_id)) order.set(sp.a.task_id, order.size);
		const height = AXIS + order.size * ROW + 6;
		const step = TICKS.find((s) => (t1 - t0) / s <= 8) || TICKS[TICKS.length - 1];
		const ticks = [];
		for (let t = 0; t <= t1 - t0; t += step) {
			ticks.push(svg("line", { class: "tick", x1: x(t0 + t), x2: x(t0 + t), y1: AXIS - 6, y2: height }),
				svg("text", { class: "tick-label", x: x(t0 + t), y: AXIS - 10 }, "+" + dur(t)));
		}
		const keyOf = new Map(tasks.map((t) => [t.id, t.key]));
		const labels = [...order.entries()].map(([tid, i]) => svg("text", {
			class: "row-label", x: LABEL - 10, y: AXIS + i * ROW + ROW / 2 + 4,
		}, clip(keyOf.get(tid) || tid, 20)));
		const bars = spans.map((sp) => timelineBar(sp, x, AXIS + order.get(sp.a.task_id) * ROW + 5, ROW - 10));
		put(panel, h("h3", null, "Attempts ", h("span", { class: "muted" }, "from ", clock(new Date(t0).toISOString()))),
			h("div", { class: "scroll" }, svg("svg", { id: "timeline", width, height, viewBox: `0 0 ${width} ${height}` },
				ticks, labels, bars)));
	}

	function timelineBar(sp, x, y, hgt) {
		const a = sp.a;
		const x1 = x(sp.s), w = Math.max(4, x(sp.e) - x1);
		const cls = sp.running ? "running" : word(a.outcome);
		const n = a.attempt_number;
		const sel = view.route.attempt === a.id;
		return svg("g", {
			class: "bar o-" + cls + (sel ? " selected" : ""), "data-attempt": a.id, "data-number": n,
			"data-outcome": a.outcome || "running", tabindex: 0,
			onclick: () => { location.hash = attemptHash(view.flow.flow.id, a.id); },
			onkeydown: (ev) => { if (ev.key === "Enter") location.hash = attemptHash(view.flow.flow.id, a.id); },
		},
		svg("title", null, `#${n} ${a.outcome || "running"} · ${dur(sp.e - sp.s)}` + (a.summary ? "\n" + a.summary : "")),
		svg("rect", { x: x1, y, width: w, height: hgt, rx: 4 }),
		svg("text", { x: w > 34 ? x1 + 6 : x1 + w + 4, y: y + hgt / 2 + 4, class: w > 34 ? "in" : "out" }, "#" + n));
	}

	function tasksInDagOrder(tasks) {
		const { cols } = layoutDag(tasks);
		return cols.flat();
	}

	/* Redraw the time axis each second while an attempt runs (its bar grows). */
	function scheduleTick() {
		clearTimeout(view.tickTimer);
		if (view.route.name !== "flow" || !view.attempts.some((a) => !a.completed_at && !a.outcome)) return;
		view.tickTimer = setTimeout(() => {
			if (view.flow && view.route.name === "flow") renderTimeline(flowTasks(), view.attempts);
			scheduleTick();
		}, 1000);
	}

	/* ---- an attempt: retry context | diff | check output ---------------- */

	async function loadAttempt() {
		const panel = document.getElementById("attempt");
		if (!panel) return;
		const aid = view.route.attempt;
		if (!aid) {
			panel.hidden = true;
			put(panel);
			view.attempt = null;
			return;
		}
		const token = view.token;
		const a = encodeURIComponent(aid);
		try {
			const doc = await api("/attempts/" + a);
			if (token !== view.token) return;
			view.attempt = doc;
			renderAttempt(doc);
			await Promise.all([loadContext(doc, token), loadDiff(doc, token), loadOutput(doc, token, defaultCheck(doc))]);
		} catch (e) {
			if (token !== view.token) return;
			panel.hidden = false;
			put(panel, h("h3", null, "Attempt"), h("p", { class: "error" }, e.message));
		}
	}

	function defaultCheck(doc) {
		const checks = Array.isArray(doc.checks) ? doc.checks : [];
		const failed = checks.find((c) => c.passed === false);
		return (failed || checks[0] || { name: "" }).name;
	}

	function renderAttempt(a) {
		const panel = document.getElementById("attempt");
		const task = flowTasks().find((t) => t.id === a.task_id) || {};
		const checks = Array.isArray(a.checks) ? a.checks : [];
		const select = h("select", { id: "output-select", "aria-label": "which output" },
			checks.map((c) => h("option", { value: c.name }, "check " + c.name + (c.passed === false ? " (failed)" : c.passed ? " (passed)" : ""))),
			h("option", { value: "" }, "runtime stdout/stderr"));
		select.value = defaultCheck(a);
		select.addEventListener("change", () => loadOutput(a, view.token, select.value));
		panel.hidden = false;
		panel.dataset.attempt = a.id;
		put(panel,
			h("h3", null, (task.key || "task") + " #" + a.attempt_number, " ", badge(a.outcome || a.state || "running"),
				h("span", { class: "muted" }, " ", dur(a.duration_ms), " · started ", clock(a.started_at))),
			task.title ? h("p", { class: "title" }, task.title) : null,
			a.summary ? h("p", null, h("b", null, "Runtime's summary: "), a.summary) : null,
			personNotes(task),
			checks.length ? h("ul", { class: "checks" }, checks.map((c) => h("li", { class: c.passed ? "pass" : "fail" },
				badge(c.passed ? "passed" : c.timed_out ? "timeout" : "failed"), " ", c.name,
				h("span", { class: "muted" }, " exit ", c.exit_code ?? "–", " · ", dur(c.duration_ms))))) : null,
			h("div", { class: "cols" },
				pane("context", "Retry context", null),
				pane("diff", "Diff", null),
				pane("output", "Output", select)));
	}

	/* What people said about the task (task retry --note, task edit, task
	 * accept: the projection's guidance, edits and accepted), when present. */
	function personNotes(task) {
		const items = [];
		const g = task.guidance;
		if (g && typeof g === "object" && g.note) {
			items.push(h("li", { class: "guidance" }, h("b", null, "Note" + (g.actor ? " from " + g.actor : "") + ": "), g.note,
				g.before_attempt ? h("span", { class: "muted" }, " (before attempt " + g.before_attempt + ")") : null));
		}
		for (const e of Array.isArray(task.edits) ? task.edits : []) {
			const fields = e && typeof e.changes === "object" && e.changes ? Object.keys(e.changes).join(", ") : "";
			items.push(h("li", null, h("b", null, "Edited" + (e.actor ? " by " + e.actor : "") + ": "), fields,
				e.reason ? " — " + e.reason : null));
		}
		const acc = task.accepted;
		if (acc && typeof acc === "object") {
			items.push(h("li", null, h("b", null, "Accepted" + (acc.actor ? " by " + acc.actor : "") + ": "),
				"attempt " + (acc.attempt_number ?? "?"), acc.reason ? " — " + acc.reason : null));
		}
		return items.length ? h("ul", { class: "people" }, items) : null;
	}

	function pane(id, title, extra) {
		return h("div", { class: "col" },
			h("div", { class: "col-head" }, h("h4", null, title), extra),
			h("pre", { id: id, class: "text" }, h("span", { class: "muted" }, "loading…")));
	}

	async function loadContext(a, token) {
		let text = null;
		const c = a.context;
		if (c && typeof c === "object" && typeof c.context === "string") text = c.context;
		else if (typeof c === "string") text = c;
		else if (!a.context_sha256) text = "";
		if (text === null) text = await api("/attempts/" + encodeURIComponent(a.id) + "/context", true).catch((e) => e);
		if (token !== view.token) return;
		fill("context", text, a.attempt_number > 1 || text ? "" : "Attempt 1 gets no retry context: it is the first try.");
	}

	async function loadDiff(a, token) {
		const text = await api("/attempts/" + encodeURIComponent(a.id) + "/diff", true).catch((e) => e);
		if (token !== view.token) return;
		fill("diff", text, "No changes recorded.");
	}

	async function loadOutput(a, token, check) {
		const q = check ? "?check=" + encodeURIComponent(check) : "";
		const text = await api("/attempts/" + encodeURIComponent(a.id) + "/output" + q, true).catch((e) => e);
		if (token !== view.token) return;
		fill("output", text, "No output.");
	}

	const MAX_LINES = 4000;

	/* A text pane: one span per line, classed by what the line looks like
	 * (diff +/-, hunk, markdown heading, failure) - the text itself stays a
	 * text node whatever it contains. */
	function fill(id, text, empty) {
		const pre = document.getElementById(id);
		if (!pre) return;
		if (text instanceof Error) {
			put(pre, h("span", { class: "error" },
				text.status === 404 ? empty : "could not load: " + text.message));
			return;
		}
		if (!text) {
			put(pre, h("span", { class: "muted" }, empty));
			return;
		}
		const lines = text.split("\n");
		const shown = lines.slice(0, MAX_LINES);
		let fence = false;
		put(pre, ...shown.map((l) => {
			if (l.startsWith("```")) fence = !fence;
			return h("span", { class: "ln " + lineClass(l, id === "diff" || fence) }, l + "\n");
		}), lines.length > MAX_LINES ? h("span", { class: "muted" }, `[${lines.length - MAX_LINES} more lines: hive attempt inspect --output]`) : null);
	}

	function lineClass(l, diff) {
		if (diff) {
			if (l.startsWith("+++") || l.startsWith("---") || l.startsWith("diff ") || l.startsWith("index ")) return "file";
			if (l.startsWith("@@")) return "hunk";
			if (l.startsWith("+")) return "add";
			if (l.startsWith("-")) return "del";
		}
		if (/^#{1,6} /.test(l)) return "heading";
		if (/\b(FAIL|FAILED|not ok|error|Error)\b/.test(l)) return "bad";
		return "plain";
	}

	/* ---- live updates ---------------------------------------------------- */

	function setLive(on, text) {
		const el = document.getElementById("live");
		el.className = "live " + (on ? "on" : "off");
		el.textContent = text;
		document.body.dataset.live = on ? "1" : "0";
	}

	/* Opens the stream; on a reconnect it resumes after the last event seen
	 * (the browser sends Last-Event-ID itself while the EventSource lives;
	 * once it gave up, a new one starts with ?after=). */
	function connect() {
		clearTimeout(live.timer);
		// The first connection starts at the log's end (the documents were just
		// fetched); later ones resume after the last event seen.
		const es = new EventSource(API + "/events/stream?after=" + (live.lastSeq ? live.lastSeq : "now"));
		live.es = es;
		es.onopen = () => {
			live.retryMs = 500;
			setLive(true, "live" + (live.lastSeq ? " · seq " + live.lastSeq : ""));
			// what happened before the stream opened (the first stream starts at
			// the log's end) or during an outage
			scheduleRefresh();
			live.opened = true;
		};
		es.onerror = () => {
			if (es.readyState === EventSource.CLOSED) {
				es.close();
				setLive(false, "reconnecting…");
				live.timer = setTimeout(connect, live.retryMs);
				live.retryMs = Math.min(live.retryMs * 2, 10000);
			} else {
				setLive(false, "reconnecting…");
			}
		};
		es.onmessage = onEvent;
		for (const t of EVENT_TYPES) es.addEventListener(t, onEvent);
	}

	function onEvent(msg) {
		let e;
		try { e = JSON.parse(msg.data); } catch (_) { return; }
		const seq = Number(e.seq ?? msg.lastEventId);
		if (!Number.isFinite(seq)) return;
		if (live.lastSeq && seq <= live.lastSeq) {
			live.dup++;
		} else {
			if (live.lastSeq && seq !== live.lastSeq + 1) live.gap++;
			live.lastSeq = seq;
			live.events++;
			if (touches(e)) scheduleRefresh();
		}
		const b = document.body.dataset;
		b.lastSeq = live.lastSeq;
		b.events = live.events;
		b.dup = live.dup;
		b.gap = live.gap;
		setLive(true, "live · seq " + live.lastSeq);
	}

	/* Whether an event changes what is on screen (task_state_changed names
	 * no flow: match its task). */
	function touches(e) {
		if (view.route.name === "flows") return /^(flow_|project_|task_created)/.test(e.type);
		const doc = view.flow;
		if (!doc || !doc.flow) return true;
		if (e.flow_id) return e.flow_id === doc.flow.id;
		return !!e.task_id && flowTasks().some((t) => t.id === e.task_id);
	}

	/* Events come in bursts (an attempt writes several): refetch once per
	 * burst, the documents being the source of truth, not the events. */
	function scheduleRefresh() {
		if (view.refreshTimer) return;
		view.refreshTimer = setTimeout(async () => {
			view.refreshTimer = 0;
			if (view.route.name === "flows") return loadFlows();
			const selected = view.attempt;
			await loadFlow();
			if (view.route.attempt && (!selected || selected.id !== view.route.attempt || !selected.outcome)) await loadAttempt();
		}, 120);
	}

	/* ---- start ------------------------------------------------------------ */

	window.addEventListener("hashchange", navigate);
	let resizeTimer = 0;
	window.addEventListener("resize", () => {
		clearTimeout(resizeTimer);
		resizeTimer = setTimeout(() => { if (view.flow && view.route.name === "flow") renderTimeline(flowTasks(), view.attempts); }, 150);
	});
	document.body.dataset.dup = "0";
	document.body.dataset.gap = "0";
	connect();
	navigate();
})();

// The customer 360 page: a thin client of the hub's customer API. No framework, no build.
// Every value is shown with textContent, never as HTML. An identifier value is only ever
// sent in a POST body, never in a URL; the address bar holds at most a customer id.
"use strict";

const PAGE_SIZE = 20;
const TOKEN_KEY = "hub.api.token";
const KIND_NAMES = {
  customer_id: "customer id",
  account_no: "account number",
  card_no: "card number",
  phone: "phone number",
  web_user: "web login",
};
const CHANNEL_ICONS = { teller: "🏦", phone: "📞", web: "💻", branch: "🏢" };
const CONSENTS = ["marketing", "phone", "sms", "email"];

const $ = (selector) => document.querySelector(selector);
const $$ = (selector) => Array.from(document.querySelectorAll(selector));
const testid = (name) => $(`[data-testid="${name}"]`);

const state = {
  customerId: null, cursor: null, decisions: [], generation: 0, triggerLoads: 0, pendingDeepLink: null,
  groupId: null, groupCursor: null,
};

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// --- talking to the API --------------------------------------------------------------

async function api(path, options = {}) {
  const token = $("#token").value.trim();
  const headers = { Accept: "application/json", Authorization: `Bearer ${token}` };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method: options.method || "GET",
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      cache: "no-store",
    });
  } catch (_) {
    throw new ApiError(0, "Cannot reach the hub API. Check the network and try again.");
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const message = body && body.error ? body.error.message : response.statusText;
    throw new ApiError(response.status, message);
  }
  return body;
}

function explain(error, kind) {
  if (!(error instanceof ApiError)) return `Something went wrong: ${error.message}`;
  switch (error.status) {
    case 0: return error.message;
    case 401: return "The token was refused. Enter a valid token.";
    case 403: return `The token is not allowed to do this (${error.message}).`;
    case 404: return `No customer found for that ${KIND_NAMES[kind] || "customer id"}.`;
    case 422: return `The request was not accepted: ${error.message}`;
    case 503: return "The customer store is unavailable; try again shortly.";
    default: return `The hub API answered ${error.status}: ${error.message}`;
  }
}

// --- page state --------------------------------------------------------------------

function setStatus(text) { $("#status").textContent = text; }

function showError(message) {
  const box = testid("error");
  box.textContent = message;
  box.hidden = false;
}

function clearError() {
  const box = testid("error");
  box.textContent = "";
  box.hidden = true;
}

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "text") node.textContent = value;
    else if (name === "class") node.className = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

function selectedChannels() {
  return $$('[data-testid="channel-filter"]').filter((box) => box.checked).map((box) => box.value);
}

// --- formatting --------------------------------------------------------------------

// Money arrives as a decimal string; format it without passing through a float.
function formatAmount(amount, currency) {
  const [whole, fraction = ""] = String(amount).split(".");
  const sign = whole.startsWith("-") ? "-" : "";
  const digits = whole.replace("-", "").replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const cents = (fraction + "00").slice(0, Math.max(2, fraction.length));
  return `${sign}${digits}.${cents}${currency ? " " + currency : ""}`;
}

function localTime(iso) {
  return new Date(iso).toLocaleString(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
  });
}

const humanise = (text) => String(text).replace(/_/g, " ");

function summary(item) {
  const p = item.payload || {};
  switch (item.type) {
    case "deposit":
      return `deposit ${formatAmount(p.amount, p.currency)} to ${humanise(p.account_type)}`;
    case "withdrawal":
      return `withdrawal ${formatAmount(p.amount, p.currency)} from ${humanise(p.account_type)}`;
    case "fx_exchange":
      return `exchanged ${formatAmount(p.sell_amount, p.sell_currency)} for ${p.buy_currency} (${humanise(p.purpose)})`;
    case "time_deposit_opened":
      return `time deposit ${formatAmount(p.amount, p.currency)} for ${p.term_months} months, matures ${p.maturity_date}`;
    case "inquiry":
      return `inquiry about ${humanise(p.topic)}`;
    case "call":
      return `${p.direction} call about ${humanise(p.reason)}, ${Math.round((p.duration_s || 0) / 60)} min, ` +
        (p.resolved ? "resolved" : "unresolved");
    case "complaint":
      return `complaint ${p.complaint_id} (${humanise(p.category)}), ${p.severity} severity`;
    case "complaint_resolved":
      return `complaint ${p.complaint_id} resolved`;
    case "login":
      return p.success ? "login succeeded" : "login failed";
    case "page_view":
      return `viewed ${p.page}${p.product ? " (" + humanise(p.product) + ")" : ""}`;
    case "application_started":
      return `started application ${p.application_id} for ${humanise(p.product)}`;
    case "application_submitted":
      return `submitted application ${p.application_id} for ${humanise(p.product)}`;
    case "visit":
      return `visit for ${humanise(p.purpose)}, waited ${p.wait_minutes} min`;
    case "rm_meeting":
      return `meeting with RM ${p.rm_id} about ${humanise(p.topic)}`;
    default:
      return Object.entries(p).map(([key, value]) => `${humanise(key)} ${value}`).join(", ");
  }
}

// --- rendering ---------------------------------------------------------------------

function renderProfile(customer) {
  testid("customer-id").textContent = customer.customer_id;
  testid("tier").textContent = customer.tier;
  testid("segment").textContent = customer.segment || "unknown";
  const team = customer.rm_team;
  testid("rm").textContent = team ? rmTeam(team) : customer.rm_id || "none assigned";
  testid("customer-type").textContent = customer.customer_type === "corporate"
    ? (customer.group_id ? `company, member of ${customer.group_id}` : "company") : "person";
  const aum = customer.assets_under_management;
  $("#aum").textContent = aum ? formatAmount(aum.amount, aum.currency) : "unknown";
  $("#products").textContent = customer.products && customer.products.length
    ? customer.products.map(humanise).join(", ") : "none known";
  $("#birthday").textContent = customer.birth_date || "unknown";
  $("#counts").textContent = Object.entries(customer.interaction_counts)
    .map(([channel, n]) => `${channel} ${n}`).join(" · ");

  const consents = testid("consents");
  consents.replaceChildren(...CONSENTS.map((name) => {
    const granted = Boolean(customer.consents && customer.consents[name]);
    return element("li", {
      "data-consent": name,
      "data-granted": String(granted),
      text: `${granted ? "✓" : "✗"} ${name}`,
      title: `${name}: ${granted ? "granted" : "not granted"}`,
    });
  }));

  const identifiers = testid("identifiers");
  const shown = [];
  for (const [kind, values] of Object.entries(customer.identifiers || {})) {
    for (const value of values) {
      shown.push(element("li", { "data-kind": kind, text: `${KIND_NAMES[kind] || kind}: ${value}` }));
    }
  }
  identifiers.replaceChildren(...(shown.length ? shown : [element("li", { class: "empty", text: "none known" })]));

  const merged = testid("merged");
  merged.hidden = customer.merged_ids.length === 0;
  merged.textContent = customer.merged_ids.length ? `Merged from ${customer.merged_ids.join(", ")}` : "";
  const redirected = $("#redirected");
  redirected.hidden = customer.requested_id === customer.customer_id;
  redirected.textContent = `${customer.requested_id} was merged into ${customer.customer_id}; showing the merged customer.`;
  $("#no-profile").hidden = customer.updated_at !== null;

  const complaints = testid("complaints");
  complaints.replaceChildren(...(customer.open_complaints.length
    ? customer.open_complaints.map((c) => element("div", { "data-testid": "complaint", "data-complaint-id": c.complaint_id },
        element("strong", { text: c.complaint_id }), " ",
        element("span", { class: `severity-${c.severity}`, text: `${c.severity} severity` }),
        ` · ${humanise(c.category || "")} · opened ${localTime(c.opened_at)}`))
    : [element("p", { class: "empty", text: "No open complaints." })]));
}

const rmTeam = (team) => [`lead ${team.lead_rm_id}`, ...team.members].join(", ");

// Who did it: in a group's timeline always; in a customer's own only when someone acted
// for a company (interaction v2 on_behalf_of).
function whoDidIt(item, always) {
  if (item.on_behalf_of) return `${item.customer_id} for ${item.on_behalf_of}`;
  return always ? item.customer_id : null;
}

function timelineItem(item, testId = "timeline-item", always = false) {
  const icon = element("span", {
    class: "icon", role: "img", "aria-label": item.channel, title: item.channel,
    text: CHANNEL_ICONS[item.channel] || "•",
  });
  const when = element("span", { class: "when" },
    element("time", { datetime: item.occurred_at, title: item.occurred_at, text: localTime(item.occurred_at) }),
    element("span", { class: "type", "data-type": item.type, text: humanise(item.type) }));
  const who = whoDidIt(item, always);
  const what = element("span", { class: "what" }, summary(item),
    who ? element("span", { class: "who", "data-testid": "who", text: who }) : null);
  return element("li", {
    "data-testid": testId, "data-channel": item.channel, "data-event-id": item.event_id,
    "data-customer-id": item.customer_id, "data-on-behalf-of": item.on_behalf_of || "",
  }, icon, when, what);
}

function appendTimeline(page, replace) {
  const list = testid("timeline");
  const items = page.items.map((item) => timelineItem(item));
  if (replace) {
    list.replaceChildren(...(items.length ? items : [element("li", { class: "empty", text: "No interactions." })]));
  } else {
    list.append(...items);
  }
  state.cursor = page.next_cursor;
  testid("more").hidden = !page.next_cursor;
}

function renderTriggers() {
  const everything = $("#show-suppressed").checked;
  const shown = state.decisions.filter((d) => everything || d.outcome === "published");
  const list = testid("triggers");
  list.replaceChildren(...(shown.length ? shown.map((d) => element("li", { "data-testid": "trigger", "data-outcome": d.outcome },
    element("span", { "data-testid": "trigger-reason", text: d.reason }),
    element("span", { class: "meta", text: [
      d.outcome === "published" ? null : `${humanise(d.outcome)} (${d.policy || "policy"})`,
      d.rule_id, humanise(d.kind), d.product ? humanise(d.product) : null,
      d.channel ? `via ${d.channel}` : null, localTime(d.decided_at),
    ].filter(Boolean).join(" · ") })))
    : [element("li", { class: "empty", text: everything ? "No decisions." : "No triggers sent." })]));
}

function renderGroup(group) {
  testid("group-id").textContent = group.group_id;
  testid("group-tier").textContent = humanise(group.tier);
  testid("group-industry").textContent = group.industry ? humanise(group.industry) : "unknown";
  testid("group-rm-team").textContent = group.rm_team ? rmTeam(group.rm_team) : "none named";

  const empty = (text) => element("li", { class: "empty", text });
  testid("group-members").replaceChildren(...(group.members.length ? group.members.map((m) =>
    element("li", { "data-testid": "group-member", "data-customer-id": m.customer_id },
      element("strong", { text: m.customer_id }),
      ` · ${humanise(m.tier)}${m.industry ? " · " + humanise(m.industry) : ""}`,
      m.depth > 1 ? ` · in ${m.parent_id}` : "",
      m.rm_team ? ` · RM ${m.rm_team.lead_rm_id}` : "")) : [empty("No member companies.")]));

  testid("group-representatives").replaceChildren(...(group.representatives.length
    ? group.representatives.map((r) => element("li", {
        "data-testid": "representative", "data-customer-id": r.customer_id, "data-on-behalf-of": r.on_behalf_of,
        text: `${r.customer_id} for ${r.on_behalf_of} · ${r.interactions} contact(s), last ${localTime(r.last_at)}`,
      }))
    : [empty("Nobody has acted for the group's companies yet.")]));

  testid("group-complaints").replaceChildren(...(group.open_complaints.length
    ? group.open_complaints.map((c) => element("div", { "data-testid": "group-complaint", "data-complaint-id": c.complaint_id },
        element("strong", { text: c.complaint_id }), " ",
        element("span", { class: `severity-${c.severity}`, text: `${c.severity} severity` }),
        ` · ${humanise(c.category || "")} · by ${c.customer_id}${c.on_behalf_of ? " for " + c.on_behalf_of : ""}` +
        ` · opened ${localTime(c.opened_at)}`))
    : [element("p", { class: "empty", text: "No open complaints." })]));

  const triggers = testid("group-triggers");
  if (group.recent_triggers === null) {
    triggers.replaceChildren(empty("Not visible with this token."));
  } else {
    triggers.replaceChildren(...(group.recent_triggers.length ? group.recent_triggers.map((d) =>
      element("li", { "data-testid": "group-trigger", "data-customer-id": d.customer_id, "data-rule-id": d.rule_id },
        element("span", { "data-testid": "trigger-reason", text: d.reason }),
        element("span", { class: "meta", text: [d.customer_id, d.rule_id, humanise(d.kind),
          d.channel ? `via ${d.channel}` : null, localTime(d.decided_at)].filter(Boolean).join(" · ") })))
      : [empty("No triggers sent.")]));
  }

  const filter = testid("group-member-filter");
  const choices = [group.group_id, ...group.members.map((m) => m.customer_id)];
  filter.replaceChildren(element("option", { value: "", text: "whole group" }),
    ...choices.map((id) => element("option", { value: id, text: id })));
}

function appendGroupTimeline(page, replace) {
  const list = testid("group-timeline");
  const items = page.items.map((item) => timelineItem(item, "group-timeline-item", true));
  if (replace) {
    list.replaceChildren(...(items.length ? items : [element("li", { class: "empty", text: "No interactions." })]));
  } else {
    list.append(...items);
  }
  state.groupCursor = page.next_cursor;
  testid("group-more").hidden = !page.next_cursor;
}

async function loadGroupTimeline(cursor, current) {
  const groupId = state.groupId;
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  const member = testid("group-member-filter").value;
  if (member) query.append("member", member);
  if (cursor) query.set("cursor", cursor);
  const page = await api(`/groups/${encodeURIComponent(groupId)}/history?${query}`);
  if (current() && state.groupId === groupId) appendGroupTimeline(page, !cursor);
}

// A company's page shows its group at once: the group it is a member of, or the group it is.
async function loadGroup(customer, current) {
  if (customer.customer_type !== "corporate") return;
  let group;
  try {
    group = await api(`/groups/${encodeURIComponent(customer.group_id || customer.customer_id)}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return;  // its group has no profile yet
    throw error;
  }
  if (!current() || group.members.length === 0) return;  // a company in no group
  state.groupId = group.group_id;
  renderGroup(group);
  testid("group").hidden = false;
  await loadGroupTimeline(null, current);
}

// --- loading -------------------------------------------------------------------------

function historyPath(customerId, cursor) {
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  for (const channel of selectedChannels()) query.append("channel", channel);
  if (cursor) query.set("cursor", cursor);
  return `/customers/${encodeURIComponent(customerId)}/history?${query}`;
}

async function loadHistory(customerId, cursor, current) {
  if (selectedChannels().length === 0) {
    // No channel selected shows nothing, rather than the API's "all channels".
    appendTimeline({ items: [], next_cursor: null }, true);
    return;
  }
  const page = await api(historyPath(customerId, cursor));
  if (current()) appendTimeline(page, !cursor);
}

// The decision log has a guard of its own: a filter change or "Show older" while it loads
// starts a newer history load, which must not keep this customer's triggers from drawing.
// Only a newer customer does. It explains its own failure rather than the lookup's.
async function loadTriggers(customerId) {
  const load = ++state.triggerLoads;
  const current = () => load === state.triggerLoads && state.customerId === customerId;
  let page;
  try {
    page = await api(`/customers/${encodeURIComponent(customerId)}/decisions?limit=50`);
  } catch (error) {
    if (!current()) return;
    state.decisions = [];
    renderTriggers();
    if (error instanceof ApiError && error.status === 403) {
      testid("triggers").replaceChildren(element("li", { class: "empty", text: "Not visible with this token." }));
      showError("This token may not read the decision log (it needs the decisions:read scope).");
    } else {
      showError(explain(error, "customer_id"));
    }
    return;
  }
  if (!current()) return;
  state.decisions = page.items;
  renderTriggers();
}

// Several things can be in flight; only the newest lookup may draw.
async function busy(kind, work) {
  const generation = ++state.generation;
  setStatus("loading…");
  clearError();
  try {
    await work(() => generation === state.generation);
    if (generation === state.generation) setStatus("");
  } catch (error) {
    if (generation !== state.generation) return;
    setStatus("");
    showError(explain(error, kind));
  }
}

// Nothing of the customer shown before may stay while the next one loads: not its
// timeline, its "Show older" cursor, nor its triggers.
function forgetCustomer() {
  state.customerId = null;
  state.cursor = null;
  state.decisions = [];
  ++state.triggerLoads;
  $("#result").hidden = true;
  testid("timeline").replaceChildren();
  testid("triggers").replaceChildren();
  testid("more").hidden = true;
  state.groupId = null;
  state.groupCursor = null;
  testid("group").hidden = true;
  testid("group-timeline").replaceChildren();
  testid("group-more").hidden = true;
}

// Find a customer by id or identifier, then show them. Every lookup goes through
// POST /customers/search, so what was typed, a card number pasted as an id included,
// never lands in a URL; only the id the API answered with does.
async function findCustomer(kind, value) {
  forgetCustomer();
  await busy(kind, async (current) => {
    const body = kind === "customer_id" ? { customer_id: value } : { kind, value };
    const found = await api("/customers/search", { method: "POST", body });
    if (!current()) return;
    const customer = await api(`/customers/${encodeURIComponent(found.customer_id)}`);
    if (!current()) return;
    state.customerId = customer.customer_id;
    // Searched by an id merged into another: say so, as GET of that id would.
    const requested = kind === "customer_id" ? value : customer.requested_id;
    renderProfile({ ...customer, requested_id: requested });
    $("#result").hidden = false;
    history.replaceState(null, "", `/?customer=${encodeURIComponent(customer.customer_id)}`);
    const triggers = loadTriggers(customer.customer_id);
    await loadHistory(customer.customer_id, null, current);
    await loadGroup(customer, current);
    await triggers;
  });
}

async function lookUp() {
  const kind = $("#lookup-kind").value;
  const value = $("#lookup-value").value.trim();
  if (!value) return;
  if (!$("#token").value.trim()) {
    showError("Enter your token first.");
    return;
  }
  await findCustomer(kind, value);
}

// --- wiring --------------------------------------------------------------------------

function start() {
  const token = $("#token");
  token.value = sessionStorage.getItem(TOKEN_KEY) || "";
  // A deep-linked customer loads once a token is there: when the field is left, or when
  // typing (or pasting) has paused for a moment.
  let pause = null;
  const openDeepLink = () => {
    clearTimeout(pause);
    if (state.pendingDeepLink && token.value.trim()) {
      const customerId = state.pendingDeepLink;
      state.pendingDeepLink = null;
      findCustomer("customer_id", customerId);
    }
  };
  token.addEventListener("input", () => {
    sessionStorage.setItem(TOKEN_KEY, token.value.trim());
    clearTimeout(pause);
    if (state.pendingDeepLink) pause = setTimeout(openDeepLink, 600);
  });
  token.addEventListener("change", openDeepLink);

  $("#lookup").addEventListener("submit", (event) => {
    event.preventDefault();
    lookUp();
  });
  for (const box of $$('[data-testid="channel-filter"]')) {
    box.addEventListener("change", () => {
      if (state.customerId) busy("customer_id", (current) => loadHistory(state.customerId, null, current));
    });
  }
  testid("more").addEventListener("click", () => {
    if (state.customerId && state.cursor) {
      busy("customer_id", (current) => loadHistory(state.customerId, state.cursor, current));
    }
  });
  $("#show-suppressed").addEventListener("change", renderTriggers);
  testid("group-member-filter").addEventListener("change", () => {
    if (state.groupId) busy("customer_id", (current) => loadGroupTimeline(null, current));
  });
  testid("group-more").addEventListener("click", () => {
    if (state.groupId && state.groupCursor) {
      busy("customer_id", (current) => loadGroupTimeline(state.groupCursor, current));
    }
  });

  const deepLink = new URLSearchParams(location.search).get("customer");
  if (deepLink) {
    $("#lookup-value").value = deepLink;
    if (token.value.trim()) findCustomer("customer_id", deepLink);
    else state.pendingDeepLink = deepLink;
  }
}

document.addEventListener("DOMContentLoaded", start);

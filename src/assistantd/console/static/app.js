// The console's shell: the login form, the navigation, and a hash router (#/assistants, #/playground, ...)
// that hands the main area to one view module at a time.

import { ApiError, get, session } from "./api.js";
import { fill, h, notice } from "./dom.js";

const AREAS = [
  ["assistants", "Assistants & prompts", () => import("./views/assistants.js")],
  ["playground", "Playground", () => import("./views/playground.js")],
  ["threads", "Threads", () => import("./views/threads.js")],
  ["storage", "Storage", () => import("./views/storage.js")],
  ["usage", "Usage", () => import("./views/usage.js")],
];

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const who = document.getElementById("who");

function current() {
  const [area, ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  return { area: AREAS.some(([name]) => name === area) ? area : "assistants", params: rest.map(decodeURIComponent) };
}

function renderNav(active) {
  if (nav.children.length) {
    // Update in place, so the link just followed keeps the keyboard focus.
    for (const link of nav.children) {
      const on = link.getAttribute("href") === `#/${active}`;
      link.classList.toggle("active", on);
      if (on) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    return;
  }
  fill(
    nav,
    AREAS.map(([name, label]) =>
      h("a", { href: `#/${name}`, class: name === active ? "active" : "", "aria-current": name === active ? "page" : null }, label),
    ),
  );
  fill(
    who,
    h(
      "button",
      {
        type: "button",
        class: "link",
        onclick: () => {
          session.key = null;
          location.hash = "";
          route();
        },
      },
      "Log out",
    ),
  );
}

function login(message) {
  fill(nav);
  fill(who);
  const key = h("input", { type: "password", id: "key", name: "key", autocomplete: "off", required: true, placeholder: "sk-proj-…" });
  const status = h("div", { id: "login-status" });
  if (message) status.append(notice(message, "error"));
  const form = h(
    "form",
    { class: "card login", id: "login" },
    h("h1", {}, "Log in"),
    h("p", { class: "muted" }, "Use a project key (sk-proj-…). It stays in this tab only (sessionStorage)."),
    h("label", { for: "key", class: "field-label" }, "Project key"),
    key,
    h("button", { type: "submit", class: "primary" }, "Log in"),
    status,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    session.key = key.value.trim();
    try {
      await get("/v1/assistants?limit=1");
    } catch (error) {
      session.key = null;
      // One answer for every refusal: the API does not say whether a project exists, nor do we.
      const text = error instanceof ApiError && (error.status === 401 || error.status === 403) ? "Invalid key." : error.message;
      fill(status, notice(text, "error"));
      key.focus();
      return;
    }
    route();
  });
  fill(main, form);
  key.focus();
  performance.mark("console-login"); // the log-in form is interactive (bench/console.py reads it)
}

let generation = 0;

async function route() {
  if (!session.key) {
    login();
    return;
  }
  const { area, params } = current();
  renderNav(area);
  const mine = ++generation;
  fill(main, h("p", { class: "muted" }, "Loading…"));
  const entry = AREAS.find(([name]) => name === area);
  try {
    const view = await entry[2]();
    if (mine !== generation) return;
    const root = h("section", { class: `view view-${area}`, "aria-labelledby": "view-title" });
    fill(main, root);
    await view.render(root, params);
    document.body.dataset.ready = area; // tests and the benchmark wait for this
    performance.mark(`console-ready:${area}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      session.key = null;
      login("Invalid key.");
      return;
    }
    fill(main, notice(`Could not load ${area}: ${error.message}`, "error"));
    document.body.dataset.ready = area;
  }
}

window.addEventListener("hashchange", route);
route();

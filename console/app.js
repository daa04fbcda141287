// The console's shell: the sign-in form, the navigation and a router over the address's
// fragment (`#/subscriptions`, `#/deliveries/dlv_…?status=failed`), so that the browser's
// back button, links and bookmarks work while the token stays in memory.

import { currentSession, hasScope, onSessionEnd, signIn, signOut } from "./api.js";
import { announce, errorBox, field, h, heading, onSubmit } from "./ui.js";
import * as subscriptions from "./pages/subscriptions.js";
import * as subscriptionForm from "./pages/subscription_form.js";
import * as catalog from "./pages/catalog.js";
import * as deliveries from "./pages/deliveries.js";
import * as delivery from "./pages/delivery.js";
import * as replay from "./pages/replay.js";
import * as chart from "./pages/chart.js";
import * as clients from "./pages/clients.js";
import * as apps from "./pages/apps.js";
import * as connections from "./pages/connections.js";
import * as connectionForm from "./pages/connection_form.js";

const APPS = ["apps:read", "apps:write"];
const CONNECTIONS = ["connections:read", "connections:write"];

/**
 * The pages: `pageFor(segments)` picks one; `nav` ones are listed in the navigation. A page
 * with `scopes` is offered to a token with one of them; `admin` ones to an admin.
 */
const PAGES = [
  { nav: "Subscriptions", path: "subscriptions", render: subscriptions.render },
  { path: "subscriptions", sub: "new", render: subscriptionForm.renderCreate },
  { path: "subscriptions", sub: "edit", render: subscriptionForm.renderEdit },
  { nav: "Catalog", path: "catalog", render: catalog.render },
  { nav: "Delivery log", path: "deliveries", render: deliveries.render },
  { path: "deliveries", sub: "one", render: delivery.render },
  { nav: "Replay", path: "replay", render: replay.render },
  { nav: "Chart", path: "chart", render: chart.render },
  { nav: "Apps", path: "apps", scopes: APPS, render: apps.render },
  { path: "apps", sub: "one", scopes: APPS, render: apps.renderApp },
  { nav: "Connections", path: "connections", scopes: CONNECTIONS, render: connections.render },
  { path: "connections", sub: "new", scopes: ["connections:write"], render: connectionForm.renderCreate },
  { nav: "Clients", path: "clients", admin: true, render: clients.render },
  { nav: "Dead letters", path: "dead-letters", admin: true, render: deliveries.renderDeadLetters },
];

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const who = document.getElementById("who");

/** The fragment as path segments and query parameters. */
function location_() {
  // The query stays encoded for URLSearchParams (an opaque cursor may hold `+` or `%`).
  const [path, query = ""] = window.location.hash.replace(/^#\/?/, "").split("?");
  return {
    segments: path.split("/").filter(Boolean).map(decodeURIComponent),
    query: new URLSearchParams(query),
  };
}

function pageFor(segments) {
  const [first = "subscriptions", second, third] = segments;
  const sub =
    (first === "subscriptions" || first === "connections") && second === "new"
      ? "new"
      : first === "subscriptions" && second && third === "edit"
        ? "edit"
        : (first === "deliveries" || first === "apps") && second
          ? "one"
          : undefined;
  return PAGES.find((p) => p.path === first && p.sub === sub && allowed(p));
}

/** Whether the session may see `page`. */
function allowed(page) {
  return (!page.admin || hasScope("admin")) && (!page.scopes || page.scopes.some(hasScope));
}

/** Goes to `hash` (`#/deliveries?…`); the router renders it. */
export function navigate(hash) {
  if (window.location.hash === hash) route();
  else window.location.hash = hash;
}

async function route() {
  if (!currentSession()) return;
  const { segments, query } = location_();
  const page = pageFor(segments);
  const view = h("div", { class: "view" });
  main.replaceChildren(view);
  for (const link of nav.querySelectorAll("a")) {
    const current = page?.nav && link.dataset.path === page.path;
    if (current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (!page) {
    view.append(heading("Not found"), h("p", {}, "No such page of the console."));
    return focusHeading(view);
  }
  document.title = `${page.nav ?? page.path} — Hookline console`;
  view.setAttribute("aria-busy", "true");
  try {
    await page.render(view, { segments, query, navigate, focus: () => focusHeading(view) });
  } catch (err) {
    view.append(errorBox(err));
  }
  view.removeAttribute("aria-busy");
  focusHeading(view);
}

function focusHeading(view) {
  // Only after a navigation: a page that re-renders itself keeps the focus where it is.
  if (!view.isConnected || view.dataset.focused) return;
  view.dataset.focused = "yes";
  view.querySelector("h1")?.focus();
}

function showNavigation() {
  const session = currentSession();
  nav.replaceChildren(
    h(
      "ul",
      {},
      PAGES.filter((p) => p.nav && allowed(p)).map((p) =>
        h("li", {}, h("a", { href: `#/${p.path}`, "data-path": p.path }, p.nav)),
      ),
    ),
  );
  document.getElementById("who-name").textContent =
    `Signed in as ${session.clientId}${hasScope("admin") ? " (admin)" : ""}`;
  nav.hidden = false;
  who.hidden = false;
}

function renderSignIn(message) {
  nav.hidden = true;
  who.hidden = true;
  nav.replaceChildren();
  document.title = "Sign in — Hookline console";
  const id = h("input", { name: "client_id", autocomplete: "username", required: true, spellcheck: "false" });
  const secret = h("input", { name: "client_secret", type: "password", autocomplete: "current-password", required: true });
  const errors = h("div", { "aria-live": "assertive" });
  const submit = h("button", { type: "submit" }, "Sign in");
  const form = h(
    "form",
    { class: "sign-in", "aria-labelledby": "sign-in-title" },
    h("h1", { id: "sign-in-title", tabindex: "-1" }, "Sign in"),
    message && h("p", { class: "notice" }, message),
    h("p", {}, "With a Hookline client's id and secret. The access token is kept in this page's memory only: reloading the page signs out."),
    field("Client id", id),
    field("Client secret", secret),
    errors,
    submit,
  );
  onSubmit(form, errors, async () => {
    try {
      await signIn(id.value.trim(), secret.value);
    } catch (err) {
      secret.focus();
      throw err;
    }
    secret.value = "";
    showNavigation();
    announce(`Signed in as ${id.value.trim()}`);
    if (!location_().segments.length) window.location.hash = "#/subscriptions";
    else route();
  });
  main.replaceChildren(form);
  (message ? form.querySelector("h1") : id).focus();
}

onSessionEnd((reason) => {
  renderSignIn(
    reason === "expired" ? "Your session ended (the token expired or was revoked): sign in again." : "Signed out.",
  );
  announce(reason === "expired" ? "Session ended" : "Signed out");
});

document.getElementById("sign-out").addEventListener("click", () => signOut());
document.getElementById("skip-link").addEventListener("click", (event) => {
  // The fragment is the router's: move the focus without changing it.
  event.preventDefault();
  (main.querySelector("h1") ?? main).focus();
});
window.addEventListener("hashchange", () => route());
// A navigation link to the page already shown reads it again (a link to the same address
// changes nothing, so no hashchange would come).
nav.addEventListener("click", (event) => {
  const link = event.target.closest("a");
  if (link && link.getAttribute("href") === window.location.hash) {
    event.preventDefault();
    route();
  }
});
renderSignIn();

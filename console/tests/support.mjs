// What the console's browser tests share: the runner under test (started by
// infra/scripts/console-tests.sh, which passes its address and admin credentials in the
// environment), the two browsers (Debian's Chromium driven by playwright-core, Debian's
// Firefox ESR driven by puppeteer-core over WebDriver BiDi; never a downloaded browser), the
// watch on a page's errors and Content Security Policy, a screenshot of the page when a test
// fails, receivers on 127.0.0.1 that record what Hookline sends them, and the API itself for
// what a test sets up outside the page.

import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests with infra/scripts/console-tests.sh`);
  return value;
}

export const BASE = required("HOOKLINE_BASE");
export const ADMIN = { id: required("HOOKLINE_ADMIN_ID"), secret: required("HOOKLINE_ADMIN_SECRET") };
const SCREENSHOTS = process.env.CONSOLE_SCREENSHOT_DIR ?? join(tmpdir(), "hookline-console-screenshots");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const FIREFOX = process.env.FIREFOX ?? "/usr/bin/firefox-esr";
const VIEWPORT = { width: 1280, height: 900 };

/**
 * Runs in every document before the page's own scripts: each breach of the Content Security
 * Policy becomes a console error the watch below sees, whatever the browser reports itself.
 */
function reportCspViolations() {
  document.addEventListener(
    "securitypolicyviolation",
    (e) => console.error(`Content Security Policy violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline code"}`),
    true,
  );
}

/**
 * A launcher of the browser `open(profile)` starts with a fresh profile directory; it returns
 * how to open a page, how to run a script in every document of a page before the page's own,
 * and how to close the browser. The launcher's browser has `name`, `newPage()` (pages that
 * report CSP violations) and `close()` (which also removes the profile).
 */
function launcher(name, open) {
  return async () => {
    const profile = mkdtempSync(join(tmpdir(), "hookline-console-profile-"));
    const browser = await open(profile);
    return {
      name,
      async newPage() {
        const page = await browser.newPage();
        await browser.beforeEachDocument(page, reportCspViolations);
        return page;
      },
      async close() {
        await browser.close();
        rmSync(profile, { recursive: true, force: true });
      },
    };
  };
}

/** Chromium as this machine needs it (closed network: no background connections). */
export const launchChromium = launcher("chromium", async (profile) => {
  const { chromium } = await import("playwright-core");
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    chromiumSandbox: false,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: VIEWPORT,
  });
  return {
    newPage: () => context.newPage(),
    beforeEachDocument: (page, script) => page.addInitScript(script),
    close: () => context.close(),
  };
});

/**
 * Firefox ESR over WebDriver BiDi, headless (puppeteer-core's profile preferences turn off
 * updates, telemetry, safe browsing and the other background connections).
 */
export const launchFirefox = launcher("firefox", async (profile) => {
  const { default: puppeteer } = await import("puppeteer-core");
  const browser = await puppeteer.launch({
    browser: "firefox",
    executablePath: FIREFOX,
    headless: true,
    userDataDir: profile,
    defaultViewport: VIEWPORT,
  });
  return {
    newPage: () => browser.newPage(),
    beforeEachDocument: (page, script) => page.evaluateOnNewDocument(script),
    close: () => browser.close(),
  };
});

/**
 * Collects what goes wrong on `page` (a Playwright or a Puppeteer page: their events are
 * alike): errors its scripts throw, and breaches of its Content Security Policy.
 */
export function watchPage(page) {
  const problems = [];
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error" && /Content[ -]Security[ -]Policy|Refused to/i.test(msg.text())) {
      problems.push(`CSP: ${msg.text()}`);
    }
  });
  return problems;
}

/**
 * Runs `body(page)` on a new page of the console in `browser` (from `launchChromium` or
 * `launchFirefox`). A failure saves a screenshot (its path is printed) and fails the test; so
 * does any problem `watchPage` finds.
 */
export async function withPage(browser, name, body) {
  const page = await browser.newPage();
  const problems = watchPage(page);
  page.on("dialog", (dialog) => dialog.accept());
  page.setDefaultTimeout(20000);
  try {
    await page.goto(`${BASE}/console`);
    await body(page);
    if (problems.length > 0) throw new Error(problems.join("\n"));
  } catch (err) {
    mkdirSync(SCREENSHOTS, { recursive: true });
    const file = join(SCREENSHOTS, `${browser.name}-${name.replace(/[^a-z0-9-]+/gi, "-")}.png`);
    await page.screenshot({ path: file, fullPage: true }).catch(() => {});
    console.error(`screenshot of the failed test '${name}' (${browser.name}): ${file}`);
    if (problems.length > 0 && !String(err.message).includes(problems[0])) {
      err.message += `\n${problems.join("\n")}`;
    }
    throw err;
  } finally {
    await page.close();
  }
}

/**
 * Whether `watchPage` sees a breach of the console's policy in `browser` (what makes the
 * tests able to fail on one): an image from another origin, refused by `img-src 'self'`. The
 * address is loopback, should a browser ever fetch it.
 */
export async function watchSeesCspViolation(browser) {
  const page = await browser.newPage();
  try {
    const problems = watchPage(page);
    await page.goto(`${BASE}/console`);
    await page.evaluate(() => {
      const img = document.createElement("img");
      img.src = "http://127.0.0.2:9/not-allowed.png";
      document.body.append(img);
    });
    await eventually("the violation reported", () => problems.some((p) => /Content[ -]Security[ -]Policy/i.test(p)));
    return true;
  } finally {
    await page.close();
  }
}

/**
 * Every page of the console, as the fragments an admin opens: `subscription` and `delivery`
 * are ids whose edit form and delivery page are included, and `app` (if given) an app key
 * whose versions page is.
 */
export function consolePages(subscription, delivery, app) {
  return ["subscriptions", "subscriptions/new", `subscriptions/${subscription}/edit`, "catalog", "deliveries",
    `deliveries/${delivery}`, "replay", "chart", "clients", "dead-letters", "apps", app && `apps/${app}`,
    "connections", "connections/new"].filter(Boolean);
}

/**
 * Opens the console's page `#/name` (a Playwright or a Puppeteer page) and waits until it is
 * rendered: the router moves the focus to its heading then.
 */
export async function openConsolePage(page, name) {
  await page.evaluate(
    (hash) =>
      new Promise((resolve) => {
        if (window.location.hash === hash) return resolve();
        window.addEventListener("hashchange", resolve, { once: true });
        window.location.hash = hash;
      }),
    `#/${name}`,
  );
  await eventually(`the page ${name}`, () =>
    page.evaluate(() => Boolean(document.activeElement?.matches("main h1") && !document.querySelector("main [aria-busy]"))),
  );
}

/** Signs in on the console's form. */
export async function signIn(page, { id, secret }) {
  await page.getByLabel("Client id").fill(id);
  await page.getByLabel("Client secret").fill(secret);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator("#who-name", { hasText: `Signed in as ${id}` }).waitFor();
}

/** A webhook receiver on 127.0.0.1 answering `receiver.status`; it records every request. */
export async function startReceiver(status = 200) {
  const receiver = { status, requests: [], url: "" };
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => {
      body += chunk;
    });
    req.on("end", () => {
      receiver.requests.push({ headers: req.headers, body });
      res.writeHead(receiver.status, { "content-type": "text/plain" });
      res.end(receiver.status < 300 ? "ok" : "receiver says no");
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  receiver.url = `http://127.0.0.1:${server.address().port}/hooks`;
  receiver.close = () => new Promise((resolve) => server.close(resolve));
  return receiver;
}

/** Waits until `check()` returns a truthy value (polling; no fixed sleep decides anything). */
export async function eventually(what, check, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Calls the API directly (for what the test sets up outside the page). */
export async function api(credentials, method, path, body) {
  const grant = await fetch(`${BASE}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ grant_type: "client_credentials", client_id: credentials.id, client_secret: credentials.secret }),
  });
  if (!grant.ok) throw new Error(`token: ${grant.status} ${await grant.text()}`);
  const { access_token: token } = await grant.json();
  const resp = await fetch(`${BASE}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await resp.text();
  if (!resp.ok) throw new Error(`${method} ${path}: ${resp.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

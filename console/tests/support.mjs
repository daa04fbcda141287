// What the console's browser tests share: the runner under test (started by
// infra/scripts/console-tests.sh, which passes its address and admin credentials in the
// environment), Debian's Chromium driven by playwright-core (never a downloaded browser),
// receivers on 127.0.0.1 that record what Hookline sends them, the API itself for what a test
// sets up outside the page, and a screenshot of the page when a test fails.

import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests with infra/scripts/console-tests.sh`);
  return value;
}

export const BASE = required("HOOKLINE_BASE");
export const ADMIN = { id: required("HOOKLINE_ADMIN_ID"), secret: required("HOOKLINE_ADMIN_SECRET") };
const SCREENSHOTS = process.env.CONSOLE_SCREENSHOT_DIR ?? join(tmpdir(), "hookline-console-screenshots");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

/** Chromium as this machine needs it (closed network: no background connections). */
export async function launchBrowser() {
  const profile = mkdtempSync(join(tmpdir(), "hookline-console-profile-"));
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
    viewport: { width: 1280, height: 900 },
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Runs `body(page)` on a new page of the console. A failure saves a screenshot (its path is
 * printed) and fails the test; so does any error the page's scripts throw or any breach of
 * its Content Security Policy.
 */
export async function withPage(context, name, body) {
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error" && /Content Security Policy|Refused to/i.test(msg.text())) {
      problems.push(`CSP: ${msg.text()}`);
    }
  });
  page.on("dialog", (dialog) => dialog.accept());
  page.setDefaultTimeout(20000);
  try {
    await page.goto(`${BASE}/console`);
    await body(page);
    if (problems.length > 0) throw new Error(problems.join("\n"));
  } catch (err) {
    mkdirSync(SCREENSHOTS, { recursive: true });
    const file = join(SCREENSHOTS, `${name.replace(/[^a-z0-9-]+/gi, "-")}.png`);
    await page.screenshot({ path: file, fullPage: true }).catch(() => {});
    console.error(`screenshot of the failed test '${name}': ${file}`);
    if (problems.length > 0 && !String(err.message).includes(problems[0])) {
      err.message += `\n${problems.join("\n")}`;
    }
    throw err;
  } finally {
    await page.close();
  }
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

// The console's core path in Firefox (Debian's firefox-esr over WebDriver BiDi with
// puppeteer-core), against the runner the Chromium tests used: a wrong secret is refused, the
// admin signs in, creates a subscription to a receiver on 127.0.0.1, sends it a test event and
// sees the attempt appear, opens every page without a page error or a breach of the Content
// Security Policy, and signs out. The Chromium tests (console.test.mjs) cover the rest.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  ADMIN,
  consolePages,
  eventually,
  launchFirefox,
  openConsolePage,
  startReceiver,
  watchSeesCspViolation,
  withPage,
} from "./support.mjs";

let browser;
let receiver;
const made = { subscription: "", delivery: "" };

before(async () => {
  browser = await launchFirefox();
  receiver = await startReceiver(200);
});

after(async () => {
  await browser?.close();
  await receiver?.close();
});

/** Puppeteer's selector of an element matching `css` whose text contains `text`. */
const withText = (css, text) => `${css}::-p-text(${JSON.stringify(text)})`;

/** Clicks the element `selector` matches, once it is there. */
async function click(page, selector) {
  await (await page.waitForSelector(selector)).click();
}

/** Types `value` into the field whose label is `label` (what it held before is replaced). */
async function fill(page, label, value) {
  const id = await eventually(`a field labelled '${label}'`, () =>
    page.evaluate((text) => [...document.querySelectorAll("label")].find((l) => l.textContent.trim() === text)?.htmlFor, label),
  );
  const input = await page.$(`#${id}`);
  await input.evaluate((el) => {
    el.value = "";
  });
  await input.type(value);
}

async function signIn(page, { id, secret }) {
  await fill(page, "Client id", id);
  await fill(page, "Client secret", secret);
  await click(page, withText("form.sign-in button", "Sign in"));
}

test("Firefox: a wrong secret is refused, the right one signs in, sign-out forgets the token", async () => {
  await withPage(browser, "sign-in", async (page) => {
    await signIn(page, { id: ADMIN.id, secret: "not-the-secret" });
    await page.waitForSelector(withText("[role=alert]", "wrong client id or secret"));

    await signIn(page, ADMIN);
    await page.waitForSelector(withText("#who-name", `Signed in as ${ADMIN.id}`));
    await page.waitForSelector(withText("nav a", "Dead letters"));
    await click(page, "#sign-out");
    await page.waitForSelector(withText("main h1", "Sign in"));
    const after = await page.evaluate(() => [
      document.getElementById("nav").hidden,
      localStorage.length,
      sessionStorage.length,
      document.cookie,
    ]);
    assert.deepEqual(after, [true, 0, 0, ""]);
  });
});

test("Firefox: a subscription to a receiver on 127.0.0.1 gets a test event and its attempt appears", async () => {
  await withPage(browser, "test-event", async (page) => {
    await signIn(page, ADMIN);
    await click(page, withText("nav a", "Subscriptions"));
    await click(page, withText("a", "New subscription"));
    await fill(page, "Destination URL", receiver.url);
    await fill(page, "Description", "Firefox receiver");
    await fill(page, "Event types", "LotDispatched");
    await click(page, withText("button", "Create subscription"));
    assert.match(await (await page.waitForSelector(".secret-value")).evaluate((el) => el.textContent), /^whsec_/);
    made.subscription = await page.$eval(".notice code", (el) => el.textContent);
    assert.match(made.subscription, /^sub_/);

    await click(page, withText("a", "Back to the subscriptions"));
    await click(page, 'button[aria-label="Send a test event to Firefox receiver"]');
    const link = await page.waitForSelector(".notice a[href^='#/deliveries/dlv_']");
    made.delivery = await link.evaluate((el) => el.textContent);
    await link.click();
    // The page re-reads the delivery until it ends: the attempt appears by itself.
    await page.waitForSelector(withText(".facts .status", "succeeded"));
    const rows = await page.$$eval("main table", (tables) =>
      tables
        .filter((t) => t.caption?.textContent.startsWith("Attempts of"))
        .flatMap((t) => [...t.tBodies[0].rows].map((tr) => tr.innerText)),
    );
    assert.equal(rows.length, 1, rows.join("\n"));
    assert.match(rows[0], /^1\s.*\s200\s+\d+ ms/s);
    const received = receiver.requests.find((r) => r.headers["hookline-subscription-id"] === made.subscription);
    assert.ok(received, "the receiver got the test event");
    assert.equal(received.headers["hookline-event-type"], "hookline.ping");
  });
});

test("Firefox: every page opens without a page error or a CSP violation", async () => {
  assert.ok(made.delivery, "the delivery of the previous test");
  await withPage(browser, "every-page", async (page) => {
    await signIn(page, ADMIN);
    await page.waitForSelector(withText("#who-name", `Signed in as ${ADMIN.id}`));
    for (const name of consolePages(made.subscription, made.delivery)) {
      await openConsolePage(page, name);
      const heading = await page.$eval("main h1", (el) => el.textContent);
      assert.notEqual(heading, "Not found", name);
    }
    await click(page, "#sign-out");
    await page.waitForSelector(withText("main h1", "Sign in"));
  });
});

test("Firefox: the watch on a page sees a CSP violation", async () => {
  assert.ok(await watchSeesCspViolation(browser));
});

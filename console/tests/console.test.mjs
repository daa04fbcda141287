// The console in a real browser against a real runner: an admin signs in and creates a
// portal's client; the portal's developer signs in with it, creates subscriptions to
// receivers on 127.0.0.1, sends a test event and watches its attempt appear, retries a
// delivery that failed, and replays a window; the admin sees the dead letters. Tests run in
// order and share the client and receivers they make.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { after, before, test } from "node:test";
import {
  ADMIN,
  api,
  consolePages,
  eventually,
  launchChromium,
  openConsolePage,
  signIn,
  startReceiver,
  watchSeesCspViolation,
  withPage,
} from "./support.mjs";

let browser;
let okReceiver;
let failingReceiver;
const portal = { id: "", secret: "" };
/** The portal's subscription to the receiver that answers 200. */
let lotsReceived = "";

before(async () => {
  browser = await launchChromium();
  okReceiver = await startReceiver(200);
  failingReceiver = await startReceiver(500);
});

after(async () => {
  await browser?.close();
  await okReceiver?.close();
  await failingReceiver?.close();
});

/** Creates a subscription on the console's form; returns its id and secret. */
async function createSubscription(page, { description, url, maxAttempts }) {
  await page.getByRole("link", { name: "Subscriptions" }).click();
  await page.getByRole("link", { name: "New subscription" }).click();
  await page.getByLabel("Destination URL").fill(url);
  await page.getByLabel("Description", { exact: true }).fill(description);
  await page.getByLabel("Event types").fill("LotDispatched");
  await page.getByLabel("States", { exact: true }).fill("AP");
  if (maxAttempts) await page.getByLabel("Maximum attempts").fill(String(maxAttempts));
  await page.getByRole("button", { name: "Create subscription" }).click();
  const secret = await page.locator(".secret-value").textContent();
  const id = await page.locator(".notice code").first().textContent();
  assert.match(secret, /^whsec_/);
  assert.match(id, /^sub_/);
  return { id, secret };
}

/** Sends a test event from the list; opens its delivery; returns the delivery id. */
async function sendTestEvent(page, description) {
  await page.getByRole("link", { name: "Back to the subscriptions" }).click();
  await page.getByRole("button", { name: `Send a test event to ${description}` }).click();
  const link = page.locator(".notice a[href^='#/deliveries/dlv_']");
  const id = await link.textContent();
  await link.click();
  await page.getByRole("heading", { name: `Delivery ${id}` }).waitFor();
  return id;
}

/** The attempts table's rows as text. */
async function attemptRows(page) {
  return page.locator("table:has(caption:text-matches('^Attempts of')) tbody tr").allInnerTexts();
}

test("the watch on a page sees a CSP violation", async () => {
  assert.ok(await watchSeesCspViolation(browser));
});

test("a wrong secret is refused; sign-out and reload forget the token", async () => {
  await withPage(browser, "sign-in", async (page) => {
    await page.getByLabel("Client id").fill(ADMIN.id);
    await page.getByLabel("Client secret").fill("not-the-secret");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").getByText("wrong client id or secret").waitFor();

    await signIn(page, ADMIN);
    await page.getByRole("link", { name: "Clients" }).waitFor();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    assert.equal(await page.getByRole("navigation").count(), 0);
    assert.equal(await page.getByRole("button", { name: "Sign out" }).isVisible(), false);

    await signIn(page, ADMIN);
    await page.reload();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    const stored = await page.evaluate(() => [localStorage.length, sessionStorage.length, document.cookie]);
    assert.deepEqual(stored, [0, 0, ""]);
  });
});

test("the console is usable with the keyboard alone", async () => {
  await withPage(browser, "keyboard", async (page) => {
    // The first field has the focus; Tab and Enter do the rest.
    await page.keyboard.type(ADMIN.id);
    await page.keyboard.press("Tab");
    await page.keyboard.type(ADMIN.secret);
    await page.keyboard.press("Enter");
    await page.locator("#who-name", { hasText: `Signed in as ${ADMIN.id}` }).waitFor();
    let focused = "";
    for (let i = 0; i < 20 && focused !== "Catalog"; i += 1) {
      await page.keyboard.press("Tab");
      focused = await page.evaluate(() => document.activeElement?.textContent ?? "");
    }
    assert.equal(focused, "Catalog");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Event catalog" }).waitFor();
    // The new page's heading takes the focus, so reading starts there.
    assert.equal(await page.evaluate(() => document.activeElement?.tagName), "H1");
    await page.getByRole("heading", { name: "LotDispatched" }).waitFor();
  });
});

test("an admin creates a portal's client, whose secret is shown once", async () => {
  await withPage(browser, "admin-create-client", async (page) => {
    await signIn(page, ADMIN);
    await page.getByRole("link", { name: "Clients" }).click();
    await page.getByLabel("Name", { exact: true }).fill("AP portal (console test)");
    for (const scope of ["events:write", "subscriptions:read", "subscriptions:write"]) {
      await page.getByLabel(new RegExp(`^${scope} —`)).check();
    }
    await page.getByLabel("States", { exact: true }).fill("AP");
    await page.getByRole("button", { name: "Create client" }).click();
    const box = page.getByRole("group", { name: /^Client secret of cl_/ });
    portal.secret = await box.locator(".secret-value").textContent();
    portal.id = (await box.getAttribute("aria-label")).replace("Client secret of ", "");
    assert.match(portal.id, /^cl_/);
    // The new client is listed, with its scopes.
    const row = page.locator("tr", { hasText: portal.id });
    await row.getByText("events:write, subscriptions:read, subscriptions:write").waitFor();
  });
  // The secret works.
  const subs = await api(portal, "GET", "/v1/subscriptions");
  assert.deepEqual(subs.data, []);
});

test("an admin rotates a client's secret: the old one stops working", async () => {
  await withPage(browser, "admin-rotate-client", async (page) => {
    const spare = await api(ADMIN, "POST", "/v1/clients", { name: "Spare client", scopes: ["events:read"], states: ["AP"] });
    await signIn(page, ADMIN);
    await page.getByRole("link", { name: "Clients" }).click();
    await page.getByRole("button", { name: "Rotate the secret of Spare client" }).click();
    const secret = await page.getByRole("group", { name: `New client secret of ${spare.id}` }).locator(".secret-value").textContent();
    await api({ id: spare.id, secret }, "GET", "/v1/event-types");
    await assert.rejects(api({ id: spare.id, secret: spare.client_secret }, "GET", "/v1/event-types"), /token: 401/);

    // Disabled, it gets no token; enabled again, it does.
    const row = page.locator("tr", { hasText: spare.id });
    await page.getByRole("button", { name: "Disable Spare client" }).click();
    await row.getByText("disabled", { exact: true }).waitFor();
    await assert.rejects(api({ id: spare.id, secret }, "GET", "/v1/event-types"), /token: 401/);
    await page.getByRole("button", { name: "Enable Spare client" }).click();
    await row.getByText("active", { exact: true }).waitFor();
    await api({ id: spare.id, secret }, "GET", "/v1/event-types");
  });
});

test("the catalog shows each type's schema and example", async () => {
  const { data } = await api(ADMIN, "GET", "/v1/event-types");
  const lot = data.find((t) => t.name === "LotDispatched");
  assert.ok(lot.example, "the built-in catalog has an example of LotDispatched");
  await withPage(browser, "catalog", async (page) => {
    await signIn(page, ADMIN);
    await page.getByRole("link", { name: "Catalog" }).click();
    await page.getByLabel("Filter by name").fill("lotdispatched");
    await page.getByText("1 of").waitFor();
    const entry = page.getByRole("article", { name: "LotDispatched" });
    await entry.getByText("Example of LotDispatched").click();
    const shown = await entry.locator("details[open] pre").textContent();
    assert.deepEqual(JSON.parse(shown), lot.example);
  });
});

test("a portal developer creates a subscription, sends a test event and sees its attempt", async () => {
  assert.ok(portal.id, "the client of the previous test");
  await withPage(browser, "test-event", async (page) => {
    await signIn(page, portal);
    assert.equal(await page.getByRole("link", { name: "Clients" }).count(), 0, "no admin pages");
    const sub = await createSubscription(page, { description: "Lots received", url: okReceiver.url });
    lotsReceived = sub.id;
    const id = await sendTestEvent(page, "Lots received");
    // The page re-reads the delivery until it ends: the attempt appears by itself.
    await page.locator(".facts .status", { hasText: "succeeded" }).waitFor();
    const rows = await attemptRows(page);
    assert.equal(rows.length, 1, rows.join("\n"));
    assert.match(rows[0], /^1\s.*\s200\s+\d+ ms/s);
    const received = okReceiver.requests.find((r) => r.headers["hookline-subscription-id"] === sub.id);
    assert.ok(received, "the receiver got the ping");
    assert.equal(received.headers["hookline-event-type"], "hookline.ping");
    assert.match(received.headers["webhook-signature"], /^v1,/);
    assert.match(id, /^dlv_/);
  });
});

test("a subscription is edited, disabled, enabled and its secret rotated", async () => {
  await withPage(browser, "edit-subscription", async (page) => {
    await signIn(page, portal);
    await page.getByRole("link", { name: "Edit Lots received" }).click();
    // Only a template subscription shows the template.
    assert.equal(await page.getByLabel("Template").isVisible(), false);
    await page.getByLabel("Description", { exact: true }).fill("Lots received (edited)");
    await page.getByLabel("Event types").fill("LotDispatched, LotReceived");
    await page.getByRole("button", { name: "Save changes" }).click();
    const row = page.locator("tr", { hasText: lotsReceived });
    await row.getByText("LotDispatched, LotReceived").waitFor();

    await page.getByRole("button", { name: "Disable Lots received (edited)" }).click();
    await row.getByText("disabled", { exact: true }).waitFor();
    assert.equal((await api(portal, "GET", `/v1/subscriptions/${lotsReceived}`)).enabled, false);
    await page.getByRole("button", { name: "Enable Lots received (edited)" }).click();
    await row.getByText("enabled", { exact: true }).waitFor();

    const before = (await api(portal, "GET", `/v1/subscriptions/${lotsReceived}/secret`)).secret;
    await page.getByRole("button", { name: "Rotate the secret of Lots received (edited)" }).click();
    const rotated = await page.getByRole("group", { name: /^New signing secret of/ }).locator(".secret-value").textContent();
    assert.match(rotated, /^whsec_/);
    assert.notEqual(rotated, before);
    assert.equal((await api(portal, "GET", `/v1/subscriptions/${lotsReceived}/secret`)).secret, rotated);

    // A refused change shows the API's problem, with its field.
    await page.getByRole("link", { name: "Edit Lots received (edited)" }).click();
    await page.getByLabel("Event types").fill("NoSuchType");
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.getByRole("alert").getByText("unknown_event_type").waitFor();
  });
});

test("a delivery that failed is retried from the console", async () => {
  await withPage(browser, "retry", async (page) => {
    await signIn(page, portal);
    await createSubscription(page, { description: "Flaky receiver", url: failingReceiver.url, maxAttempts: 1 });
    const id = await sendTestEvent(page, "Flaky receiver");
    await page.locator(".facts .status", { hasText: "failed" }).waitFor();
    assert.match((await attemptRows(page))[0], /\s500\s/);
    await page.getByText("receiver says no").waitFor();

    // The admin sees it among the dead letters, of every client.
    await withPage(browser, "dead-letters", async (admin) => {
      await signIn(admin, ADMIN);
      await admin.getByRole("link", { name: "Dead letters" }).click();
      await admin.getByRole("link", { name: id }).waitFor();
    });

    failingReceiver.status = 200;
    await page.getByRole("button", { name: `Retry ${id}` }).click();
    await page.locator(".facts .status", { hasText: "succeeded" }).waitFor();
    const rows = await attemptRows(page);
    assert.equal(rows.length, 2, rows.join("\n"));
    assert.match(rows[1], /^2\s.*\s200\s/s);
  });
});

test("replay re-delivers the events of a time window", async () => {
  await withPage(browser, "replay", async (page) => {
    // An event the portal's subscription matches, published by another client (the admin).
    const before = okReceiver.requests.length;
    const { id: eventId } = await api(ADMIN, "POST", "/v1/events", { type: "LotDispatched", state: "AP", data: { lotNo: "L-77" } });
    const delivered = () => okReceiver.requests.filter((r) => r.headers["webhook-id"] === eventId).length;
    await eventually("the event's delivery", () => delivered() === 1 && okReceiver.requests.length > before);

    await signIn(page, portal);
    await page.getByRole("link", { name: "Replay" }).click();
    await page.getByLabel("Subscription").selectOption(lotsReceived);
    await page.getByRole("button", { name: "Replay" }).click();
    // The notice (the live region says the same 50 ms later).
    await page.locator(".notice").getByText("Replay queued 1 delivery.").waitFor();
    await eventually("the replayed delivery", () => delivered() === 2);

    // The delivery log lists both deliveries of the event's subscription.
    await page.getByRole("link", { name: "See the deliveries" }).click();
    await page.getByRole("heading", { name: "Delivery log" }).waitFor();
    await page.locator("table caption", { hasText: /Delivery log: \d+ shown/ }).waitFor();
  });
});

test("a pull subscription is created from the console and its test event is stored for pulling", async () => {
  await withPage(browser, "pull-subscription", async (page) => {
    await signIn(page, portal);
    await page.getByRole("link", { name: "New subscription" }).click();
    await page.getByLabel("Mode").selectOption("pull");
    // A pull subscription has no URL and no timeout: the console does not ask for them.
    assert.equal(await page.getByLabel("Destination URL").isVisible(), false);
    assert.equal(await page.getByLabel("Timeout per attempt (ms)").isVisible(), false);
    await page.getByLabel("Description", { exact: true }).fill("Pulled lots");
    await page.getByLabel("Event types").fill("LotDispatched");
    await page.getByRole("button", { name: "Create subscription" }).click();
    assert.match(await page.locator(".secret-value").textContent(), /^whsec_/);
    const id = await page.locator(".notice code").first().textContent();
    await page.getByRole("link", { name: "Back to the subscriptions" }).click();
    const row = page.locator("tr", { hasText: id });
    await row.getByRole("cell", { name: "pull", exact: true }).waitFor();

    await page.getByRole("button", { name: "Send a test event to Pulled lots" }).click();
    await page.locator(".notice a[href^='#/deliveries/dlv_']").click();
    await page.locator(".facts .status", { hasText: "succeeded" }).waitFor();
    await page.getByText("stored for pull delivery").waitFor();
    const { data } = await api(portal, "GET", `/v1/subscriptions/${id}/messages`);
    assert.deepEqual(data.map((m) => m.event_type), ["hookline.ping"]);
  });
});

test("a workflow is made and edited on the subscription form from the actions of a connection", async () => {
  const key = "console-tool";
  const tool = (version, actions) => ({
    key,
    name: "A tool of the console tests",
    version,
    auth: { type: "none" },
    environment: [{ key: "BASE_URL", description: "The tool's base URL." }],
    actions,
  });
  await api(ADMIN, "POST", "/v1/apps", {
    definition: tool("1.0.0", {
        record_lot: {
          label: "Record a lot",
          kind: "create",
          inputs: [
            { key: "lot", label: "Lot", required: true },
            { key: "quantity", label: "Quantity", type: "integer" },
          ],
          request: { method: "POST", url: "{{ env.BASE_URL }}/lots", body: { lot: "{{ input.lot }}", quantity: "{{ input.quantity }}" } },
        },
        find_lot: {
          label: "Find a lot",
          kind: "search",
          inputs: [{ key: "lot", required: true }],
          request: { method: "GET", url: "{{ env.BASE_URL }}/lots/{{ input.lot }}" },
          result: "/lot",
        },
    }),
    environment: { BASE_URL: okReceiver.url },
  });
  const connection = await api(ADMIN, "POST", "/v1/connections", { app: key, version: "1.0.0", name: "Console tool", state: "AP" });
  await withPage(browser, "workflow", async (page) => {
    await signIn(page, ADMIN);
    await page.getByRole("link", { name: "Subscriptions" }).click();
    await page.getByRole("link", { name: "New subscription" }).click();
    await page.getByLabel("Mode").selectOption("action");
    assert.equal(await page.getByLabel("Destination URL").isVisible(), false, "a workflow has no URL");
    assert.equal(await page.getByLabel("Payload format").isVisible(), false);
    assert.equal(await page.getByLabel("Deliver events this client published itself").isChecked(), true);
    await page.getByLabel("Description", { exact: true }).fill("Lots to the tool");
    await page.getByLabel("Event types").fill("LotDispatched");
    await page.getByLabel("States", { exact: true }).fill("AP");
    // The search action is a step's helper, not a step.
    const offered = await page.getByLabel("Action — step 1").locator("option").allInnerTexts();
    assert.deepEqual(offered, ["Record a lot (record_lot)"]);
    await page.getByLabel("Input Lot (required) — step 1").fill("{{ event.data.lot }}");
    await page.getByLabel("Input Quantity — step 1").fill("5");
    await page.getByRole("button", { name: "Create subscription" }).click();
    const id = await page.locator(".notice code").first().textContent();
    assert.equal(await page.locator(".secret-value").count(), 0, "a workflow signs nothing");
    const made = await api(ADMIN, "GET", `/v1/subscriptions/${id}`);
    assert.equal(made.mode, "action");
    assert.equal(made.include_own_events, true);
    assert.deepEqual(made.actions, [{ connection_id: connection.id, action: "record_lot", input: { lot: "{{ event.data.lot }}", quantity: 5 } }]);

    await page.getByRole("link", { name: "Back to the subscriptions" }).click();
    const row = page.locator("tr", { hasText: id });
    await row.getByText(`record_lot on ${connection.id}`).waitFor();
    await row.getByRole("cell", { name: "action", exact: true }).waitFor();
    await row.getByRole("link", { name: "Edit Lots to the tool" }).click();
    const quantity = page.getByLabel("Input Quantity — step 1");
    await quantity.waitFor();
    assert.equal(await quantity.inputValue(), "5");
    await quantity.fill("7");
    await page.getByRole("button", { name: "Add a step" }).click();
    await page.getByLabel("Input Lot (required) — step 2").fill("copy-{{ event.data.lot }}");
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.getByRole("heading", { name: "Subscriptions" }).waitFor();
    const edited = await api(ADMIN, "GET", `/v1/subscriptions/${id}`);
    assert.deepEqual(edited.actions.map((a) => a.input), [
      { lot: "{{ event.data.lot }}", quantity: 7 },
      { lot: "copy-{{ event.data.lot }}" },
    ]);

    // A version without the step's action: the form keeps the stored action (marked), rather
    // than showing, and saving, another one.
    await api(ADMIN, "POST", "/v1/apps", {
      definition: tool("1.1.0", { log_lot: { label: "Log a lot", kind: "create", request: { method: "POST", url: "{{ env.BASE_URL }}/log" } } }),
      environment: { BASE_URL: okReceiver.url },
    });
    await api(ADMIN, "POST", `/v1/connections/${connection.id}/upgrade`, { version: "1.1.0" });
    await page.locator("tr", { hasText: id }).getByRole("link", { name: "Edit Lots to the tool" }).click();
    const stored = page.getByLabel("Action — step 1");
    await stored.locator("option", { hasText: "record_lot (not an action of this version)" }).waitFor({ state: "attached" });
    assert.equal(await stored.inputValue(), "record_lot");
  });
});

/** A third-party tool on 127.0.0.1 for the apps test: it records every request and answers JSON. */
async function startTool() {
  const tool = { requests: [], url: "" };
  const server = createServer((req, res) => {
    tool.requests.push({ method: req.method, url: req.url, headers: req.headers });
    res.writeHead(200, { "content-type": "application/json" });
    res.end(req.url.startsWith("/orders") ? '{"orders": []}' : '{"ok": true}');
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  tool.url = `http://127.0.0.1:${server.address().port}`;
  tool.close = () => new Promise((resolve) => server.close(resolve));
  return tool;
}

/** An app with an API key, a required and a choice property, a test request and a polled feed. */
function shopApp(version, testPath = "/me") {
  return {
    key: "console-shop",
    name: "Console shop",
    description: "A shop of the console tests.",
    version,
    auth: { type: "api_key", in: "header", name: "X-Api-Key" },
    properties: [
      { key: "location_id", label: "Location id", required: true },
      { key: "channel", label: "Channel", choices: ["web", "store"] },
    ],
    environment: [{ key: "BASE_URL", description: "The shop's base URL." }],
    test: { method: "GET", url: `{{ env.BASE_URL }}${testPath}`, query: { location: "{{ props.location_id }}" } },
    triggers: {
      new_order: {
        label: "New order",
        event_type: "LotCreated",
        kind: "polling",
        request: { method: "GET", url: "{{ env.BASE_URL }}/orders" },
        items: "/orders",
        id: "/id",
        min_interval_seconds: 30,
        default_interval_seconds: 60,
      },
    },
  };
}

test("an app is published, connected to, tested, upgraded, deprecated and its connection deleted from the console", async () => {
  const tool = await startTool();
  const apiKey = "console-api-key-7f3a";
  try {
    await withPage(browser, "apps-and-connections", async (page) => {
      await signIn(page, ADMIN);
      await page.getByRole("link", { name: "Apps", exact: true }).click();
      // Text that is not JSON is caught before any request.
      await page.getByLabel("Definition (JSON)").fill("{\"key\": ");
      await page.getByRole("button", { name: "Publish" }).click();
      await page.locator(".error li", { hasText: "definition: not valid JSON" }).waitFor();
      // A template naming an undeclared property: refused with the field's path, nothing stored.
      await page.getByLabel("Definition (JSON)").fill(JSON.stringify(shopApp("1.0.0", "/me/{{ props.nope }}")));
      await page.getByLabel("Environment (JSON object)").fill(JSON.stringify({ BASE_URL: tool.url }));
      await page.getByRole("button", { name: "Publish" }).click();
      await page.locator(".error li code", { hasText: "definition.test.url" }).waitFor();
      assert.ok(!(await api(ADMIN, "GET", "/v1/apps")).data.some((a) => a.key === "console-shop"));

      await page.getByLabel("Definition (JSON)").fill(JSON.stringify(shopApp("1.0.0")));
      await page.getByLabel("Environment (JSON object)").fill(JSON.stringify({ BASE_URL: tool.url }));
      await page.getByRole("button", { name: "Publish" }).click();
      await page.locator(".notice", { hasText: "Published console-shop 1.0.0" }).waitFor();
      await page.getByRole("link", { name: "Versions of Console shop" }).click();
      await page.getByRole("link", { name: "New connection to console-shop 1.0.0" }).click();

      await page.getByLabel("Name").fill("Shop AP");
      await page.getByLabel("State", { exact: true }).fill("AP");
      await page.getByLabel("Location id (required)").fill("WH-1");
      await page.getByLabel("Channel").selectOption("store");
      await page.getByLabel("API key (required)").fill(apiKey);
      await page.getByLabel("Seconds between polls of “New order”").fill("300");
      await page.getByRole("button", { name: "Create connection" }).click();
      const id = await page.locator(".notice code").first().textContent();
      assert.match(id, /^con_/);
      const made = await api(ADMIN, "GET", `/v1/connections/${id}`);
      assert.deepEqual(made.properties, { location_id: "WH-1", channel: "store" });
      assert.deepEqual(made.secrets_set, ["api_key"]);
      assert.deepEqual(made.polling, { new_order: { enabled: true, interval_seconds: 300 } });

      await page.getByRole("link", { name: "Back to the connections" }).click();
      const row = page.locator("tr", { hasText: id });
      await row.getByRole("cell", { name: "api_key", exact: true }).waitFor();
      await page.getByRole("button", { name: "Test Shop AP" }).click();
      await page.locator(".notice", { hasText: "Test of Shop AP: passed (status 200" }).waitFor();
      const sent = tool.requests.find((r) => r.url.startsWith("/me"));
      assert.equal(sent.url, "/me?location=WH-1");
      assert.equal(sent.headers["x-api-key"], apiKey, "the credential reached the tool");
      assert.ok(!(await page.content()).includes(apiKey), "the credential is never shown");

      await page.getByRole("button", { name: "Polls of Shop AP" }).click();
      await page.locator("table:has(caption:text-is('Polls of Shop AP')) td", { hasText: "new_order" }).waitFor();

      await api(ADMIN, "POST", "/v1/apps", { definition: shopApp("1.1.0"), environment: { BASE_URL: tool.url } });
      await page.getByRole("link", { name: "Connections", exact: true }).click();
      await page.getByRole("button", { name: "Upgrade Shop AP to 1.1.0" }).click();
      await page.locator(".notice", { hasText: "Shop AP now uses console-shop 1.1.0." }).waitFor();
      assert.equal((await api(ADMIN, "GET", `/v1/connections/${id}`)).version, "1.1.0");
      assert.equal(await page.getByRole("button", { name: /^Upgrade Shop AP/ }).count(), 0);

      await page.getByRole("button", { name: "Disable Shop AP" }).click();
      await page.locator("tr", { hasText: id }).getByRole("cell", { name: "disabled", exact: true }).waitFor();
      assert.equal((await api(ADMIN, "GET", `/v1/connections/${id}`)).enabled, false);

      await page.getByRole("link", { name: "Apps", exact: true }).click();
      await page.getByRole("link", { name: "Versions of Console shop" }).click();
      await page.getByRole("button", { name: "Deprecate console-shop 1.0.0" }).click();
      await page.locator(".notice", { hasText: "console-shop 1.0.0 deprecated." }).waitFor();
      assert.equal(await page.getByRole("link", { name: "New connection to console-shop 1.0.0" }).count(), 0);
      await page.getByRole("link", { name: "New connection to console-shop 1.1.0" }).waitFor();

      await page.getByRole("link", { name: "Connections", exact: true }).click();
      await page.getByRole("button", { name: "Delete Shop AP" }).click();
      await page.locator(".notice", { hasText: "Shop AP deleted." }).waitFor();
      assert.equal(await page.locator("tr", { hasText: id }).count(), 0);
      await assert.rejects(api(ADMIN, "GET", `/v1/connections/${id}`), /404/);

      // The upgrade offer follows semver precedence, pre-releases and numeric parts included.
      const order = await page.evaluate(async () => {
        const { compareVersions } = await import("./console/pages/connections.js");
        const sorted = ["1.10.0", "1.2.0", "1.0.0", "1.0.0-beta.11", "1.0.0-beta.2", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-rc.1"];
        return sorted.sort(compareVersions);
      });
      assert.deepEqual(order, ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.2.0", "1.10.0"]);
    });
  } finally {
    await tool.close();
  }
});

test("the delivery log filters by event type, status and time", async () => {
  await withPage(browser, "delivery-log-filters", async (page) => {
    await signIn(page, portal);
    await page.getByRole("link", { name: "Delivery log" }).click();
    await page.getByLabel("Event type").fill("hookline.ping");
    await page.getByRole("button", { name: "Apply filters" }).click();
    // The test pings of the tests before: one per subscription.
    const pings = (await api(portal, "GET", "/v1/subscriptions")).data.length;
    assert.ok(pings >= 2);
    await page.locator("table caption", { hasText: `Delivery log: ${pings} shown` }).waitFor();
    const types = await page.locator("tbody tr td:nth-child(2)").allInnerTexts();
    assert.deepEqual(types, Array(pings).fill("hookline.ping"));

    await page.getByLabel("Event type").fill("LotDispatched");
    await page.getByLabel("Status").selectOption("succeeded");
    await page.getByRole("button", { name: "Apply filters" }).click();
    // The published event's delivery and its replay.
    await page.locator("table caption", { hasText: "Delivery log: 2 shown" }).waitFor();
    assert.match(page.url(), /event_type=LotDispatched&status=succeeded/);

    await page.getByLabel("Created since").fill("2099-01-01T00:00:00");
    await page.getByRole("button", { name: "Apply filters" }).click();
    await page.getByText("No deliveries match.").waitFor();
  });
});

test("the chart shows the deliveries of each hour by outcome", async () => {
  // Every delivery of the portal has ended: the chart's counts are final.
  const { data } = await eventually("every delivery ended", async () => {
    const page = await api(portal, "GET", "/v1/deliveries?limit=100");
    return page.data.every((d) => d.status === "succeeded" || d.status === "failed") && page;
  });
  await withPage(browser, "chart", async (page) => {
    await signIn(page, portal);
    await page.getByRole("link", { name: "Chart" }).click();
    const chart = page.getByRole("img", { name: "Deliveries per hour by outcome" });
    await chart.waitFor();
    assert.ok((await chart.locator("rect.bar-succeeded").count()) >= 1);
    await page.getByText("The numbers", { exact: true }).click();
    const rows = await page.locator("table:has(caption:text-is('Deliveries per hour')) tbody tr").evaluateAll((trs) =>
      trs.map((tr) => [...tr.querySelectorAll("td")].slice(1).map((td) => Number(td.textContent))),
    );
    assert.ok(rows.length >= 24, `an hour a row over the last 24 hours: ${rows.length}`);
    const sum = (column) => rows.reduce((n, row) => n + row[column], 0);
    // Columns: succeeded, failed, retrying, pending.
    assert.equal(sum(0), data.filter((d) => d.status === "succeeded").length);
    assert.equal(sum(1), data.filter((d) => d.status === "failed").length);
  });
});

test("no page has an accessibility violation axe-core finds", async () => {
  // axe is evaluated through the DevTools protocol, which the page's CSP does not govern.
  const axe = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
  await withPage(browser, "accessibility", async (page) => {
    const violations = async (name) => {
      await page.evaluate(axe);
      const result = await page.evaluate(() =>
        window.axe.run(document, { runOnly: ["wcag2a", "wcag2aa", "wcag21aa", "best-practice"] }),
      );
      return result.violations.map((v) => `${name}: ${v.id} (${v.impact}) at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
    };
    const found = await violations("sign-in");
    await signIn(page, ADMIN);
    const { data } = await api(ADMIN, "GET", "/v1/deliveries?limit=1");
    for (const name of consolePages(lotsReceived, data[0].id, "console-shop")) {
      await openConsolePage(page, name);
      found.push(...(await violations(name)));
    }
    // The form in workflow mode, with its steps.
    await openConsolePage(page, "subscriptions/new");
    await page.getByLabel("Mode").selectOption("action");
    await page.getByLabel("Action — step 1").waitFor();
    await page.getByRole("button", { name: "Add a step" }).click();
    await page.getByLabel("Action — step 2").waitFor();
    found.push(...(await violations("subscriptions/new (workflow)")));
    assert.deepEqual(found, []);
  });
});

// The pages in web/, in Debian's chromium, against the scripts/dev stack that
// scripts/check-browser started: WEB_URL (the pages), EMULATOR_URL (the kintone emulator, with
// its /_emulator/ controls), SCREENSHOT_DIR. Run: node --test pages.test.mjs
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";

const WEB = process.env.WEB_URL;
const EMULATOR = process.env.EMULATOR_URL;
const SCREENSHOTS = process.env.SCREENSHOT_DIR;
assert.ok(WEB && EMULATOR && SCREENSHOTS, "WEB_URL, EMULATOR_URL and SCREENSHOT_DIR are set by scripts/check-browser");
mkdirSync(SCREENSHOTS, { recursive: true });
const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const SEMINAR_APP = 12;
const DEALS_APP = 34;
const CAREERS_APP = 56;
// The emulator's --demo view-only tokens, to read back what a record holds.
const VIEW_TOKENS = { [DEALS_APP]: "demoDealsViewToken0000000000000000000000", [CAREERS_APP]: "demoCareersViewToken00000000000000000000" };
const RECEIPT = /^[0-9A-Z]{4}(-[0-9A-Z]{4}){4}$/;

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});
after(async () => {
  await browser?.close();
});

/** A fresh page (its own context: no shared storage) and what it sent and said. */
async function open(path, { width = 1280, height = 900, axe = false } = {}) {
  // axe-core is injected as an inline script, which the pages' Content-Security-Policy refuses:
  // only the pages that run it are opened with CSP bypassed; every other one runs under it.
  const context = await browser.newContext({ viewport: { width, height }, locale: "ja-JP", bypassCSP: axe });
  const page = await context.newPage();
  const seen = { requests: [], posts: [], postedAt: [], answers: [], problems: [] };
  page.on("request", (request) => {
    seen.requests.push(request.url());
    if (request.method() === "POST") {
      seen.posts.push(request);
      seen.postedAt.push(Date.now());
    }
  });
  page.on("response", (response) => {
    if (response.request().method() === "POST") seen.answers.push(response);
  });
  page.on("pageerror", (error) => seen.problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    // A 4xx/5xx answer is logged by Chromium as "Failed to load resource": expected here.
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
      seen.problems.push(`console: ${message.text()}`);
    }
  });
  await page.goto(`${WEB}/${path}`);
  return { page, seen, close: () => context.close() };
}

async function records(app = SEMINAR_APP) {
  const response = await fetch(`${EMULATOR}/_emulator/apps/${app}/records`);
  return (await response.json()).records;
}

/** The bytes kintone holds for a record's file, fetched as kintone's API serves them. */
async function kintoneFile(app, fileKey) {
  const response = await fetch(`${EMULATOR}/k/v1/file.json?fileKey=${encodeURIComponent(fileKey)}`,
    { headers: { "X-Cybozu-API-Token": VIEW_TOKENS[app] } });
  assert.equal(response.status, 200);
  return Buffer.from(await response.arrayBuffer());
}
const recordsNamed = async (name) => (await records()).filter((r) => r["氏名"].value === name);

async function fault(name) {
  const response = await fetch(`${EMULATOR}/_emulator/fault`, { method: "PUT", body: JSON.stringify({ fault: name }) });
  assert.equal(response.status, 200);
}

const unique = (prefix) => `${prefix} ${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

async function fillValid(page, name) {
  await page.getByLabel("お名前").fill(name);
  await page.getByLabel("メールアドレス").fill("taro@example.jp");
  await page.getByLabel("午前の部").check();
  await page.getByLabel("同意する").check();
}

const submitButton = (page) => page.locator("form button[type=submit]");
const activeId = (page) => page.evaluate(() => document.activeElement?.id ?? "");

/** axe-core in the page: the violations of impact serious or critical, and a count of all. */
async function axe(page) {
  await page.addScriptTag({ content: AXE });
  const violations = await page.evaluate(async () => (await window.axe.run(document, { resultTypes: ["violations"] })).violations
    .map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help })));
  return { all: violations, severe: violations.filter((v) => ["serious", "critical"].includes(v.impact)) };
}

test("a valid application reaches the emulator as exactly one record, and the page shows the receipt", async () => {
  const { page, seen, close } = await open("form.html?form=seminar");
  await page.getByRole("heading", { level: 1, name: "セミナー参加申し込み" }).waitFor();
  const name = unique("山田 太郎");
  await fillValid(page, name);
  await submitButton(page).click();
  const receipt = (await page.locator("#receipt").textContent()).trim();
  assert.match(receipt, RECEIPT);
  assert.equal(await activeId(page), "done-title", "focus moves to the confirmation");
  const stored = await recordsNamed(name);
  assert.equal(stored.length, 1);
  assert.equal(stored[0]["受付番号"].value, receipt);
  assert.equal(seen.posts.length, 1);
  const post = seen.posts[0];
  assert.equal(stored[0]["送信ID"].value, post.headers()["idempotency-key"]);
  assert.match(post.headers()["idempotency-key"], /^[0-9a-f-]{36}$/);
  assert.equal(post.headers()["accept-language"], "ja");
  // The honeypot goes along empty, and no person can see, reach or hear it.
  assert.equal(post.postDataJSON().website, "");
  const honeypot = page.locator("#field-website");
  assert.equal(await honeypot.getAttribute("tabindex"), "-1");
  assert.equal(await honeypot.getAttribute("autocomplete"), "off");
  assert.equal(await page.locator(".hp").getAttribute("aria-hidden"), "true");
  const box = await honeypot.boundingBox();
  assert.ok(!box || box.x + box.width <= 0 || box.width <= 1, `honeypot on screen: ${JSON.stringify(box)}`);
  await page.setViewportSize({ width: 375, height: 800 });
  await page.screenshot({ path: `${SCREENSHOTS}/form-receipt-375.png`, fullPage: true });
  assert.deepEqual(seen.problems, []);
  await close();
});

test("the form works with the keyboard alone, with a visible focus", async () => {
  const { page, seen, close } = await open("form.html?form=seminar");
  await page.getByLabel("お名前").waitFor();
  const name = unique("鍵盤 花子");
  await page.keyboard.press("Tab"); // the language switch
  assert.equal(await activeId(page), "language");
  await page.keyboard.press("Tab");
  assert.equal(await activeId(page), "field-name");
  const focus = await page.evaluate(() => {
    const style = getComputedStyle(document.activeElement);
    return { style: style.outlineStyle, width: parseFloat(style.outlineWidth) };
  });
  assert.notEqual(focus.style, "none", "focus is visible");
  assert.ok(focus.width >= 2, `outline ${focus.width}px`);
  await page.keyboard.type(name);
  await page.keyboard.press("Tab");
  await page.keyboard.type("hanako@example.jp");
  await page.keyboard.press("Tab"); // phone
  await page.keyboard.press("Tab"); // the first session option
  assert.equal(await activeId(page), "field-session-0");
  await page.keyboard.press("ArrowDown"); // 午後の部
  for (let i = 0; i < 15 && (await activeId(page)) !== "field-consent-0"; i++) await page.keyboard.press("Tab");
  assert.equal(await activeId(page), "field-consent-0");
  await page.keyboard.press("Space");
  await page.keyboard.press("Tab"); // past the honeypot (tabindex -1) to the button
  assert.equal(await page.evaluate(() => document.activeElement.type), "submit");
  await page.keyboard.press("Enter");
  assert.match((await page.locator("#receipt").textContent()).trim(), RECEIPT);
  const stored = await recordsNamed(name);
  assert.equal(stored.length, 1);
  assert.equal(stored[0]["参加セッション"].value, "午後の部");
  assert.deepEqual(stored[0]["同意"].value, ["同意する"]);
  assert.deepEqual(seen.problems, []);
  await close();
});

test("server field errors appear next to their fields, announced, with focus on the first; values are kept", async () => {
  const { page, seen, close } = await open("form.html?form=seminar", { width: 375, height: 800, axe: true });
  await page.getByLabel("メールアドレス").fill("taro");
  await page.getByLabel("参加人数").fill("20");
  await page.getByLabel("午後の部").check();
  const before = (await records()).length;
  await submitButton(page).click();
  await page.locator("#field-name-error").waitFor();
  const expected = {
    name: "入力してください。",
    email: "メールアドレスの形式が正しくありません。",
    attendees: "1以上10以下の数値を入力してください。",
    consent: "同意が必要です。",
  };
  for (const [input, message] of Object.entries(expected)) {
    const error = page.locator(`#field-${input}-error`);
    assert.equal((await error.textContent()).trim(), message, input);
    assert.ok(await error.isVisible(), `${input}: message visible`);
    // Next to its field: in the field's own container, and read out with the control.
    const control = page.locator(input === "consent" ? "#field-consent-0" : `#field-${input}`);
    assert.equal(await control.getAttribute("aria-invalid"), "true");
    assert.ok((await control.getAttribute("aria-describedby")).split(" ").includes(`field-${input}-error`));
    assert.ok(await control.evaluate((c, id) => c.closest(".field").contains(document.getElementById(id)), `field-${input}-error`));
  }
  assert.equal(await page.locator("#field-phone-error").isVisible(), false);
  assert.equal(await activeId(page), "field-name", "focus on the first invalid field");
  const alert = await page.getByRole("alert").textContent();
  for (const message of Object.values(expected)) assert.ok(alert.includes(message), `announced: ${message}`);
  assert.equal(await page.getByLabel("メールアドレス").inputValue(), "taro");
  assert.equal(await page.getByLabel("参加人数").inputValue(), "20");
  assert.ok(await page.getByLabel("午後の部").isChecked());
  assert.equal((await records()).length, before, "nothing stored");
  await page.screenshot({ path: `${SCREENSHOTS}/form-errors-375.png`, fullPage: true });
  const { severe } = await axe(page);
  assert.deepEqual(severe, [], "axe on the form with errors");

  // Corrected, the same filled-in form goes through.
  const name = unique("訂正 次郎");
  await page.getByLabel("お名前").fill(name);
  await page.getByLabel("メールアドレス").fill("jiro@example.jp");
  await page.getByLabel("参加人数").fill("３");
  await page.getByLabel("同意する").check();
  await submitButton(page).click();
  assert.match((await page.locator("#receipt").textContent()).trim(), RECEIPT);
  assert.equal((await recordsNamed(name)).length, 1);
  assert.deepEqual(seen.problems, []);
  await close();
});

test("English: the switch relabels the page in place, and the server answers in English", async () => {
  const { page, seen, close } = await open("form.html?form=seminar");
  await page.getByLabel("お名前").fill("Kept Value");
  await page.getByRole("button", { name: "Switch to English" }).click();
  await page.getByRole("heading", { level: 1, name: "Seminar registration" }).waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.lang), "en");
  assert.ok(page.url().endsWith("lang=en"));
  assert.equal(await page.getByLabel("Name").inputValue(), "Kept Value", "typed values survive the switch");
  await page.getByLabel("Email").fill("nope");
  await submitButton(page).click();
  await page.locator("#field-email-error").waitFor();
  assert.equal((await page.locator("#field-email-error").textContent()).trim(), "Enter a valid email address.");
  assert.equal((await page.locator("#field-session-error").textContent()).trim(), "This field is required.");
  assert.equal(seen.posts[0].headers()["accept-language"], "en");
  assert.equal(await activeId(page), "field-email");
  assert.deepEqual(seen.problems, []);
  await close();
});

test("a double click makes exactly one record", async () => {
  const { page, seen, close } = await open("form.html?form=seminar");
  const name = unique("二度 押し");
  await fillValid(page, name);
  await submitButton(page).dblclick();
  assert.match((await page.locator("#receipt").textContent()).trim(), RECEIPT);
  // A second submit while sending is dropped; the key would make a second post harmless anyway.
  assert.equal(seen.posts.length, 1);
  assert.equal((await recordsNamed(name)).length, 1);
  await close();
});

test("a retry after the relay's 503 honours Retry-After and makes exactly one record", async () => {
  // The shipped seminar form queues what kintone cannot take (202), so the relay answers 503
  // only when it cannot queue either; that answer is played here, in front of the real relay.
  const { page, seen, close } = await open("form.html?form=seminar");
  const name = unique("再送 三郎");
  await fillValid(page, name);
  await page.route("**/forms/seminar", async (route) => {
    if (route.request().method() !== "POST") return route.continue();
    await route.fulfill({
      status: 503,
      headers: {
        "Access-Control-Allow-Origin": new URL(WEB).origin,
        "Access-Control-Expose-Headers": "Retry-After",
        "Retry-After": "2",
        "Cache-Control": "no-store",
      },
      contentType: "application/json",
      body: JSON.stringify({ error: { code: "unavailable", message: "ただいま混み合っています。" } }),
    });
  }, { times: 1 });
  await submitButton(page).click();
  await page.getByRole("status").filter({ hasText: "混み合っています" }).waitFor();
  assert.equal(await submitButton(page).getAttribute("aria-disabled"), "true", "disabled while waiting");
  assert.match(await submitButton(page).textContent(), /再送まで \d+ 秒/);
  assert.match((await page.locator("#receipt").textContent({ timeout: 30000 })).trim(), RECEIPT);
  assert.equal(seen.answers[0].status(), 503);
  assert.equal(seen.posts.length, 2, "one retry");
  const waited = seen.postedAt[1] - seen.postedAt[0];
  assert.ok(waited >= 2000 - 500, `waited ${waited} ms; Retry-After: 2`);
  const keys = new Set(seen.posts.map((post) => post.headers()["idempotency-key"]));
  assert.equal(keys.size, 1, "every retry sends the same Idempotency-Key");
  assert.equal((await recordsNamed(name)).length, 1);
  await close();
});

test("while kintone is busy the page shows the receipt at once, and the record arrives once kintone is back", async () => {
  const { page, seen, close } = await open("form.html?form=seminar");
  const name = unique("待機 四郎");
  await fillValid(page, name);
  await fault("rate_limited");
  let receipt;
  try {
    await submitButton(page).click();
    receipt = (await page.locator("#receipt").textContent()).trim();
    assert.match(receipt, RECEIPT);
    assert.equal(seen.answers[0].status(), 202, "queued");
    assert.equal((await recordsNamed(name)).length, 0, "kintone took nothing yet");
  } finally {
    await fault("none");
  }
  // scripts/dev feeds the queue to deliver, as Lambda's SQS event source does in AWS.
  let stored = [];
  for (let waited = 0; stored.length === 0 && waited < 60000; waited += 500) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    stored = await recordsNamed(name);
  }
  assert.equal(stored.length, 1, "delivered exactly once");
  assert.equal(stored[0]["受付番号"].value, receipt, "under the receipt the page showed");
  assert.equal(seen.posts.length, 1);
  await close();
});

test("a form with a captcha shows the provider's widget and sends its token; a refused token asks for a new one", async () => {
  // The relay's side (siteverify) is tested in tests/e2e/tests/captcha.rs; here the description
  // gains a captcha and the provider's script is a stand-in that renders and answers at once.
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "ja-JP" });
  const page = await context.newPage();
  await page.route("**/forms/seminar", async (route) => {
    if (route.request().method() !== "GET") return route.continue();
    const response = await route.fetch();
    const description = await response.json();
    description.captcha = { provider: "turnstile", site_key: "0x4AAAAAAAsite-key" };
    await route.fulfill({ response, json: description });
  });
  await page.route("https://challenges.cloudflare.com/**", (route) => {
    const onload = new URL(route.request().url()).searchParams.get("onload");
    route.fulfill({
      contentType: "text/javascript",
      // The person passes the check at once, and again after each reset.
      body: `window.turnstile = { renders: [], resets: 0, options: null,
        render(el, options) { this.renders.push(options.sitekey); this.options = options;
          el.textContent = "captcha"; options.callback("first-token"); return 1; },
        reset() { this.resets += 1; this.options.callback("token-after-reset-" + this.resets); } };
        window[${JSON.stringify(onload)}]();`,
    });
  });
  const posted = [];
  let refuseNext = true;
  await page.route("**/forms/seminar", async (route) => {
    if (route.request().method() !== "POST") return route.fallback();
    posted.push(route.request().headers()["x-captcha-token"]);
    if (refuseNext) {
      refuseNext = false;
      return route.fulfill({
        status: 400,
        headers: { "Access-Control-Allow-Origin": new URL(WEB).origin },
        json: { error: { code: "captcha_failed", message: "ロボットでないことの確認ができませんでした。確認をやり直してから、もう一度送信してください。" } },
      });
    }
    return route.fallback();
  });
  await page.goto(`${WEB}/form.html?form=seminar`);
  await page.locator(".captcha").filter({ hasText: "captcha" }).waitFor();
  assert.deepEqual(await page.evaluate(() => window.turnstile.renders), ["0x4AAAAAAAsite-key"]);
  const name = unique("確認 五郎");
  await fillValid(page, name);
  await submitButton(page).click();
  await page.getByRole("alert").filter({ hasText: "確認をやり直して" }).waitFor();
  assert.equal(await page.evaluate(() => window.turnstile.resets), 1, "a refused token resets the widget");
  assert.equal((await recordsNamed(name)).length, 0);
  await submitButton(page).click();
  assert.match((await page.locator("#receipt").textContent()).trim(), RECEIPT);
  assert.deepEqual(posted, ["first-token", "token-after-reset-1"], "the widget's token goes along, a fresh one each time");
  assert.equal((await recordsNamed(name)).length, 1);
  await context.close();
});

test("an answer lost on the way, then sent again, still makes exactly one record", async () => {
  const { page, seen, close } = await open("form.html?form=seminar");
  const name = unique("消失 四郎");
  await fillValid(page, name);
  // The relay stores the record, but the answer never reaches the page.
  await page.route("**/forms/seminar", async (route) => {
    if (route.request().method() !== "POST") return route.continue();
    await route.fetch();
    await route.abort("connectionreset");
  }, { times: 1 });
  await submitButton(page).click();
  await page.getByRole("alert").filter({ hasText: "通信できませんでした" }).waitFor();
  assert.equal((await recordsNamed(name)).length, 1, "the first post was stored");
  assert.equal(await page.getByLabel("お名前").inputValue(), name, "values kept");
  await submitButton(page).click();
  const receipt = (await page.locator("#receipt").textContent()).trim();
  const stored = await recordsNamed(name);
  assert.equal(stored.length, 1, "the second post is a replay");
  assert.equal(stored[0]["受付番号"].value, receipt, "the replay answers the first receipt");
  assert.equal(new Set(seen.posts.map((post) => post.headers()["idempotency-key"])).size, 1);
  await close();
});

test("a lookup with right and with wrong corroborating fields; the address, history and storage hold no input", async () => {
  const { page, seen, close } = await open("lookup.html?lookup=deals", { axe: true });
  await page.getByRole("heading", { level: 1, name: "取引状況の確認" }).waitFor();
  const address = page.url();
  const length = await page.evaluate(() => history.length);
  for (const input of await page.locator("form input").all()) {
    assert.equal(await input.getAttribute("autocomplete"), "off");
  }
  await page.getByLabel("取引先ID").fill("P-001");
  await page.getByLabel("会社名").fill("山田商事");
  await page.getByLabel("取引番号").fill("D-1001");
  await page.getByRole("button", { name: "確認する" }).click();
  await page.locator("table.records").waitFor();
  const cells = await page.locator("table.records tbody tr").first().locator(".cell-value").allTextContents();
  assert.deepEqual(cells, ["D-1001", "業務システム導入（山田商事）", "150000", "商談中", "ダウンロード 見積書_D-1001.pdf"]);
  assert.equal(await page.locator("table.records tbody tr").count(), 1);
  assert.equal(await activeId(page), "results-title");
  await page.mouse.move(0, 0); // no hover in the picture
  await page.screenshot({ path: `${SCREENSHOTS}/lookup-1280.png`, fullPage: true });
  await page.setViewportSize({ width: 375, height: 800 });
  await page.screenshot({ path: `${SCREENSHOTS}/lookup-375.png`, fullPage: true });
  const { severe } = await axe(page);
  assert.deepEqual(severe, [], "axe on the lookup with results");

  // A wrong name and an unknown ID: one and the same message.
  await page.getByLabel("会社名").fill("佐藤工業");
  await page.getByRole("button", { name: "確認する" }).click();
  const wrongName = await page.getByRole("alert").filter({ hasText: "見つかりませんでした" }).textContent();
  assert.equal(await page.locator("table.records").count(), 0, "the earlier results are gone");
  await page.getByLabel("会社名").fill("山田商事");
  await page.getByLabel("取引先ID").fill("P-999");
  await page.getByRole("button", { name: "確認する" }).click();
  await page.waitForResponse((r) => r.request().method() === "POST");
  const unknownId = await page.getByRole("alert").filter({ hasText: "見つかりませんでした" }).textContent();
  assert.equal(wrongName, unknownId);

  // A missing input: the server's message next to it.
  await page.getByLabel("取引番号").fill("");
  await page.getByRole("button", { name: "確認する" }).click();
  await page.locator("#field-deal_id-error").waitFor();
  assert.equal((await page.locator("#field-deal_id-error").textContent()).trim(), "入力してください。");
  assert.equal(await activeId(page), "field-deal_id");

  const typed = ["P-001", "P-999", "山田商事", "佐藤工業", "D-1001"];
  assert.equal(page.url(), address, "the address is unchanged");
  assert.equal(await page.evaluate(() => history.length), length, "no history entry was added");
  const stored = await page.evaluate(() => ({ local: localStorage.length, session: sessionStorage.length, cookie: document.cookie }));
  assert.deepEqual(stored, { local: 0, session: 0, cookie: "" });
  for (const url of seen.requests) {
    for (const value of typed) {
      assert.ok(!decodeURIComponent(url).includes(value), `${value} in ${url}`);
    }
  }
  assert.ok(seen.posts.every((post) => post.method() === "POST" && !post.url().includes("?")));
  assert.deepEqual(seen.problems, []);
  await close();
});

// A small PDF, and a Windows executable given a PDF's name and type.
const PDF = Buffer.from("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n", "latin1");
const EXE = Buffer.concat([Buffer.from("MZ\x90\x00\x03\x00\x00\x00", "latin1"), Buffer.alloc(120, 0x41)]);

test("an application with a CV: a wrong kind of file is stopped in the page, the PDF is uploaded, and the record holds its exact bytes and Japanese name", async () => {
  const { page, seen, close } = await open("form.html?form=careers", { axe: true });
  await page.getByRole("heading", { level: 1, name: "採用応募" }).waitFor();
  const name = unique("応募 太郎");
  await page.getByLabel("お名前").fill(name);
  await page.getByLabel("メールアドレス").fill("taro@example.jp");
  await page.getByLabel("営業").check();
  const cv = page.getByLabel("履歴書");
  assert.equal(await cv.getAttribute("type"), "file");
  assert.equal(await cv.getAttribute("accept"), "application/pdf,image/png,image/jpeg");

  // An executable named and labelled as a PDF: refused from its bytes, before any upload.
  await cv.setInputFiles({ name: "履歴書.pdf", mimeType: "application/pdf", buffer: EXE });
  const error = page.locator("#field-cv-error");
  await error.waitFor();
  assert.equal((await error.textContent()).trim(), "この種類のファイルは送信できません。");
  assert.equal(await cv.getAttribute("aria-invalid"), "true");
  assert.equal(seen.posts.length, 0, "nothing was uploaded");

  const fileName = "履歴書 山田（2026年版）.pdf";
  await cv.setInputFiles({ name: fileName, mimeType: "application/pdf", buffer: PDF });
  await error.waitFor({ state: "hidden" });
  const { severe } = await axe(page);
  assert.deepEqual(severe, [], "axe on the form with a file input");
  await page.setViewportSize({ width: 375, height: 800 });
  await page.screenshot({ path: `${SCREENSHOTS}/form-careers-375.png`, fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });
  await submitButton(page).click();
  const receipt = (await page.locator("#receipt").textContent()).trim();
  assert.match(receipt, RECEIPT);

  // The upload went first, raw, with the name percent-encoded; the form then carried the handle.
  assert.equal(seen.posts.length, 2, seen.posts.map((p) => p.url()).join(" "));
  const [upload, submission] = seen.posts;
  assert.match(upload.url(), /\/forms\/careers\/files\/cv$/);
  assert.equal(upload.headers()["x-file-name"], encodeURIComponent(fileName));
  // (playwright does not expose a streamed file body: the record's bytes are compared below)
  const handle = (await seen.answers[0].json()).file;
  assert.match(submission.url(), /\/forms\/careers$/);
  assert.deepEqual(submission.postDataJSON().cv, [handle]);

  const stored = (await records(CAREERS_APP)).filter((r) => r["氏名"].value === name);
  assert.equal(stored.length, 1);
  assert.equal(stored[0]["応募番号"].value, receipt);
  const files = stored[0]["履歴書"].value;
  assert.equal(files.length, 1);
  assert.equal(files[0].name, fileName);
  assert.equal(files[0].contentType, "application/pdf");
  assert.equal(Number(files[0].size), PDF.length);
  assert.deepEqual(await kintoneFile(CAREERS_APP, files[0].fileKey), PDF);
  // kintone's file key never reached the page.
  for (const answer of seen.answers) {
    assert.ok(!(await answer.text()).includes(files[0].fileKey));
  }
  assert.deepEqual(seen.problems, []);
  await close();
});

test("a deal's quotation downloads from the lookup page, which runs the lookup again; a failed download says so and saves nothing", async () => {
  const { page, seen, close } = await open("lookup.html?lookup=deals");
  await page.getByLabel("取引先ID").fill("P-002");
  await page.getByLabel("会社名").fill("佐藤工業");
  await page.getByLabel("取引番号").fill("D-1002");
  await page.getByRole("button", { name: "確認する" }).click();
  const button = page.getByRole("button", { name: "ダウンロード 見積書_D-1002.pdf" });
  await button.waitFor();

  const [download] = await Promise.all([page.waitForEvent("download"), button.click()]);
  assert.equal(download.suggestedFilename(), "見積書_D-1002.pdf");
  const saved = readFileSync(await download.path());
  const record = (await records(DEALS_APP)).find((r) => r["取引ID"].value === "D-1002");
  assert.deepEqual(saved, await kintoneFile(DEALS_APP, record["見積書"].value[0].fileKey));
  assert.ok(saved.subarray(0, 5).equals(Buffer.from("%PDF-")));

  // The download is a POST with every input of the lookup again, and which file.
  const post = seen.posts.at(-1);
  assert.match(post.url(), /\/lookups\/deals\/files$/);
  assert.deepEqual(post.postDataJSON(),
    { partner_id: "P-002", partner_name: "佐藤工業", deal_id: "D-1002", record: 0, output: "quote", file: 0 });
  const answer = seen.answers.at(-1);
  assert.equal(answer.headers()["cache-control"], "no-store");
  assert.equal(answer.headers()["x-content-type-options"], "nosniff");
  assert.match(answer.headers()["content-disposition"], /^attachment; .*filename\*=UTF-8''%E8%A6%8B%E7%A9%8D%E6%9B%B8_D-1002\.pdf$/);

  // kintone in maintenance: the page says the download failed, and no file is saved.
  await fault("maintenance");
  let downloads = 0;
  page.on("download", () => { downloads += 1; });
  try {
    await button.click();
    await page.getByRole("alert").filter({ hasText: "ダウンロードできませんでした" }).waitFor();
  } finally {
    await fault("none");
  }
  assert.equal(downloads, 0);
  assert.deepEqual(seen.problems, []);
  await close();
});

for (const lang of ["ja", "en"]) {
  test(`axe-core finds no serious or critical violation on either page (${lang})`, async (t) => {
    for (const path of ["form.html?form=seminar", "lookup.html?lookup=deals"]) {
      const { page, seen, close } = await open(`${path}${lang === "en" ? "&lang=en" : ""}`, { axe: true });
      await page.locator("form").waitFor();
      assert.equal(await page.evaluate(() => document.documentElement.lang), lang);
      const { all, severe } = await axe(page);
      t.diagnostic(`axe ${path} ${lang}: ${all.length} violation(s) in all${all.map((v) => ` [${v.impact}] ${v.id}`).join("")}`);
      assert.deepEqual(severe, [], `${path} (${lang})`);
      assert.deepEqual(seen.problems, []);
      await close();
    }
  });
}

test("an address without a form, or with an unknown one, says so", async () => {
  for (const [path, message] of [
    ["form.html", "ページのアドレスにフォーム名がありません。"],
    // The relay's 404 for an unknown name has no CORS header: the page sees no answer at all.
    ["form.html?form=nope", "このページを読み込めませんでした。アドレスが正しいか確認し、しばらくしてから再読み込みしてください。"],
    ["lookup.html?lookup=nope&lang=en", "This page could not be loaded. Please check the address, or reload it in a little while."],
  ]) {
    const { page, close } = await open(path);
    await page.getByRole("heading", { level: 1, name: message }).waitFor();
    assert.equal(await page.locator("form").count(), 0);
    await close();
  }
});

test("screenshots of each page at 375 px and 1280 px wide", async () => {
  for (const [name, path] of [["form", "form.html?form=seminar"], ["lookup-empty", "lookup.html?lookup=deals"]]) {
    for (const width of [375, 1280]) {
      const { page, close } = await open(path, { width, height: 800 });
      await page.locator("form").waitFor();
      await page.screenshot({ path: `${SCREENSHOTS}/${name}-${width}.png`, fullPage: true });
      await close();
    }
  }
});

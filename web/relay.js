// What form.js and lookup.js share: the language, texts, the relay's descriptions and requests,
// and field errors. No framework, no build step: an ES module the browser loads as it is.
import config from "./config.js";

export { config };

const params = new URLSearchParams(location.search);

/** The page's language: Japanese unless the address says `lang=en`. */
export let lang = params.get("lang") === "en" ? "en" : "ja";

/** The texts of the pages themselves; the relay's descriptions bring the rest. */
export const UI = {
  loading: { ja: "読み込み中…", en: "Loading…" },
  switchTo: { ja: "English", en: "日本語" },
  switchLabel: { ja: "Switch to English", en: "日本語に切り替える" },
  required: { ja: "必須", en: "Required" },
  optional: { ja: "任意", en: "Optional" },
  requiredNote: {
    ja: "「必須」の項目は必ず入力してください。",
    en: "Fields marked “Required” must be filled in.",
  },
  choose: { ja: "選択してください", en: "Choose one" },
  agree: { ja: null, en: "I agree" },
  send: { ja: "送信する", en: "Submit" },
  sending: { ja: "送信中…", en: "Sending…" },
  waiting: { ja: "再送まで {n} 秒", en: "Retrying in {n} s" },
  busy: {
    ja: "ただいま混み合っています。{n} 秒後に自動でもう一度送信します。入力内容はそのままです。",
    en: "The service is busy. We will try again automatically in {n} seconds; your answers are kept.",
  },
  busyGaveUp: {
    ja: "ただいま混み合っています。入力内容はそのままですので、しばらくしてからもう一度送信してください。",
    en: "The service is busy. Your answers are kept: please submit again in a little while.",
  },
  network: {
    ja: "通信できませんでした。接続を確認して、もう一度送信してください。入力内容はそのままです。",
    en: "We could not reach the service. Check your connection and submit again; your answers are kept.",
  },
  unexpected: {
    ja: "送信できませんでした（{n}）。入力内容はそのままです。",
    en: "This could not be sent ({n}). Your answers are kept.",
  },
  fixThese: { ja: "次の項目を確認してください：", en: "Please check these fields:" },
  noName: {
    ja: "ページのアドレスにフォーム名がありません。",
    en: "The page address names no form.",
  },
  notFoundPage: {
    ja: "このページは見つかりませんでした。アドレスを確認してください。",
    en: "This page was not found. Please check the address.",
  },
  // Also for an unknown name: the relay's 404 for it carries no CORS header, so a page on
  // another origin cannot tell it from a network failure.
  loadFailed: {
    ja: "このページを読み込めませんでした。アドレスが正しいか確認し、しばらくしてから再読み込みしてください。",
    en: "This page could not be loaded. Please check the address, or reload it in a little while.",
  },
  privacy: { ja: "個人情報の取り扱い", en: "Privacy policy" },
  noscript: {
    ja: "このページを使うには JavaScript を有効にしてください。",
    en: "Please turn on JavaScript to use this page.",
  },
};

/** `texts` in the page's language (`{n}` replaced), falling back to Japanese, then to `fallback`. */
export function pick(texts, n, fallback = "") {
  const text = (texts && (texts[lang] ?? texts.ja)) ?? fallback;
  return n === undefined ? text : text.replaceAll("{n}", String(n));
}

// Nodes whose text follows the language: [node, texts, attribute or null, n, fallback].
const bound = [];

/** Sets `node`'s text (or `attribute`) from `texts` now and whenever the language changes. */
export function bind(node, texts, { attribute = null, n, fallback } = {}) {
  const entry = [node, texts, attribute, n, fallback];
  const earlier = bound.findIndex(([other, , otherAttribute]) => other === node && otherAttribute === attribute);
  if (earlier >= 0) bound[earlier] = entry;
  else bound.push(entry);
  apply(entry);
  return node;
}

function apply([node, texts, attribute, n, fallback]) {
  const text = typeof texts === "function" ? texts(lang) : pick(texts, n, fallback);
  if (attribute) node.setAttribute(attribute, text);
  else node.textContent = text;
}

const listeners = [];
/** Calls `listener` after every change of language. */
export function onLanguageChange(listener) {
  listeners.push(listener);
}

function setLanguage(next) {
  lang = next;
  document.documentElement.lang = next;
  // Only `lang` is ever written to the address: never anything typed.
  const url = new URL(location.href);
  if (next === "en") url.searchParams.set("lang", "en");
  else url.searchParams.delete("lang");
  history.replaceState(null, "", url);
  for (let i = bound.length - 1; i >= 0; i--) {
    if (bound[i][0].isConnected) apply(bound[i]);
    else bound.splice(i, 1);
  }
  listeners.forEach((listener) => listener(next));
}

/** Creates an element: `el("p", {class: "help", id}, child, …)`. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

/** The page's frame: header with the organization and the language switch, footer, noscript. */
export function setUpPage() {
  document.documentElement.lang = lang;
  const org = document.getElementById("organization");
  if (org && config.organization) bind(org, config.organization);
  const button = document.getElementById("language");
  bind(button, UI.switchTo);
  bind(button, UI.switchLabel, { attribute: "aria-label" });
  bind(button, (l) => (l === "ja" ? "en" : "ja"), { attribute: "lang" });
  button.addEventListener("click", () => setLanguage(lang === "ja" ? "en" : "ja"));
  const footer = document.getElementById("footer");
  if (footer && config.privacyPolicy) {
    footer.append(bind(el("a", { href: config.privacyPolicy }), UI.privacy));
  }
}

/** The name in the address (`?form=seminar`), if it is one the relay could serve. */
export function nameFromAddress(key) {
  const name = params.get(key) ?? "";
  return /^[A-Za-z0-9_-]{1,64}$/.test(name) ? name : null;
}

/**
 * Starts a form or lookup page: reads its name from the address (`kind` is "form" or
 * "lookup"), loads its description and calls `render(name, description)`; until then, or
 * instead, the #title heading says what is happening. `render` runs after the page's module
 * has finished loading, since the description comes back asynchronously.
 */
export function startPage(kind, render) {
  const title = document.getElementById("title");
  const name = nameFromAddress(kind);
  if (!name) {
    bind(title, UI.noName);
    return;
  }
  bind(title, UI.loading);
  describe(`${kind}s`, name).then(
    (description) => render(name, description),
    (error) => bind(title, error.status === 404 ? UI.notFoundPage : UI.loadFailed),
  );
}

/** The URL of a form or lookup: `kind` is "forms" or "lookups". */
export function endpoint(kind, name) {
  const base = String(config[kind]).replace(/\/+$/, "");
  return `${base}/${kind}/${encodeURIComponent(name)}`;
}

/** GET a description; throws an Error whose `status` is the HTTP status (0: no answer). */
export async function describe(kind, name) {
  let response;
  try {
    response = await fetch(endpoint(kind, name), { credentials: "omit", referrerPolicy: "no-referrer" });
  } catch {
    throw Object.assign(new Error("network"), { status: 0 });
  }
  if (!response.ok) throw Object.assign(new Error("status"), { status: response.status });
  return response.json();
}

/** Seconds to wait from a `Retry-After` header (seconds or an HTTP date), or null. */
export function retryAfterSeconds(value) {
  if (!value) return null;
  if (/^\s*\d+\s*$/.test(value)) return Number(value);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

/**
 * POSTs `body` as JSON in the page's language. Returns `{status, body, retryAfter}`;
 * throws when no answer came (the network, or a CORS refusal).
 */
export async function post(url, body, headers = {}) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", "Accept-Language": lang, ...headers },
    body: JSON.stringify(body),
    credentials: "omit",
    cache: "no-store",
    referrerPolicy: "no-referrer",
  });
  let json = null;
  try {
    json = await response.json();
  } catch {
    // Not JSON (a gateway's own page): the status says enough.
  }
  return {
    status: response.status,
    body: json,
    retryAfter: retryAfterSeconds(response.headers.get("Retry-After")),
  };
}

/** Automatic retries after a 429 or 503, and the longest wait the page sits through. */
export const MAX_RETRIES = 5;
export const MAX_WAIT_SECONDS = 120;

/**
 * POSTs, and after a 429 or 503 waits as `Retry-After` says and sends the very same request
 * again (at most MAX_RETRIES times). `onWait(seconds, tick)` is told about each wait; `tick(n)`
 * is called every second of it. Returns the last answer; throws like `post`.
 */
export async function postWithRetry(url, body, headers, onWait) {
  for (let attempt = 0; ; attempt++) {
    const answer = await post(url, body, headers);
    const busy = answer.status === 429 || answer.status === 503;
    const wait = answer.retryAfter ?? 5;
    if (!busy || attempt >= MAX_RETRIES || wait > MAX_WAIT_SECONDS) return answer;
    const tick = onWait(Math.max(wait, 1));
    for (let left = Math.max(wait, 1); left > 0; left--) {
      tick(left);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

/**
 * Shows the relay's field errors: each message next to its input (`fields.get(name)` gives
 * `{error, controls}`), listed in `summary` (a live region, so they are announced), with focus
 * on the first. Names the page has no input for (an undeclared input) are listed only.
 */
export function showFieldErrors(summary, error, fields, labelOf) {
  clearFieldErrors(fields);
  const list = el("ul");
  let first = null;
  // In the page's order (the server's is alphabetical), names the page does not know last.
  const order = [...fields.keys()];
  const rank = (name) => (order.includes(name) ? order.indexOf(name) : order.length);
  const entries = Object.entries(error.fields ?? {}).sort(([a], [b]) => rank(a) - rank(b));
  for (const [name, message] of entries) {
    const field = fields.get(name);
    if (field) {
      field.error.textContent = message;
      field.error.hidden = false;
      field.container.classList.add("invalid");
      field.controls.forEach((control) => control.setAttribute("aria-invalid", "true"));
      first ??= field.controls[0];
    }
    list.append(el("li", { text: `${labelOf(name)}${lang === "ja" ? "：" : ": "}${message}` }));
  }
  summary.replaceChildren(
    el("p", { class: "summary-title", text: error.message || pick(UI.fixThese) }),
    list,
  );
  first?.focus();
  first?.scrollIntoView({ block: "center" });
}

export function clearFieldErrors(fields) {
  for (const field of fields.values()) {
    field.error.textContent = "";
    field.error.hidden = true;
    field.container.classList.remove("invalid");
    field.controls.forEach((control) => control.removeAttribute("aria-invalid"));
  }
}

/**
 * Shows one message in a live region (`role="alert"` or `"status"`), or clears it. The regions
 * stay in the page while empty (CSS hides `:empty` ones), so that what is put in is announced.
 */
export function say(region, text) {
  region.replaceChildren(...(text ? [el("p", { text })] : []));
}

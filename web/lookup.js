// lookup.html?lookup=<name>: renders any lookup from its description (GET /lookups/<name>),
// posts what was typed and shows the records. Nothing typed goes into the address, the history,
// localStorage or the browser's form history: POST only, autocomplete off, cleared on leaving.
import {
  UI,
  bind,
  clearFieldErrors,
  el,
  endpoint,
  lang,
  onLanguageChange,
  pick,
  postWithRetry,
  say,
  setUpPage,
  showFieldErrors,
  startPage,
} from "./relay.js";
import { downloadButtons } from "./files.js";

const TEXT = {
  intro: {
    ja: "次の項目をすべて入力してください。入力内容は確認のためだけに送信され、このブラウザーには保存されません。",
    en: "Fill in every field below. What you type is sent only to check it and is not saved in this browser.",
  },
  submit: { ja: "確認する", en: "Look up" },
  searching: { ja: "確認中…", en: "Looking up…" },
  clear: { ja: "入力と結果を消去", en: "Clear" },
  results: { ja: "確認結果", en: "Results" },
  found: { ja: "{n} 件見つかりました。", en: "Found: {n}." },
  notFound: {
    ja: "一致する情報が見つかりませんでした。入力内容をご確認のうえ、もう一度お試しください。",
    en: "Nothing matched what you entered. Please check it and try again.",
  },
};

setUpPage();
const title = document.getElementById("title");
const page = document.getElementById("page");
startPage("lookup", render);

const kilobytes = (size) => `${Math.max(1, Math.round(Number(size) / 1024)).toLocaleString()} KB`;

/** An output's value as a node, by the shape the description gives. */
function showValue(value, output) {
  if (value === null || value === undefined) return "";
  switch (output.shape) {
    case "list":
      return Array.isArray(value) ? value.join(lang === "ja" ? "、" : ", ") : String(value);
    case "files":
      return Array.isArray(value) ? value.map((f) => `${f.name} (${kilobytes(f.size)})`).join(", ") : "";
    case "table":
      return el("ul", { class: "rows" }, ...(Array.isArray(value) ? value : []).map((row) =>
        el("li", { text: (output.columns ?? Object.keys(row)).map((c) => `${c}: ${row[c] ?? ""}`).join(" / ") })));
    default:
      return String(value);
  }
}

function render(name, description) {
  bind(title, description.title, { fallback: name });
  bind(document.querySelector("title"), description.title, { fallback: name });
  const fields = new Map();
  const labels = new Map(description.inputs.map((i) => [i.name, i.label]));
  const labelOf = (input) => pick(labels.get(input), undefined, input);

  const intro = bind(el("p", { class: "note", id: "intro" }), TEXT.intro);
  const problems = el("div", { class: "problems", role: "alert" });
  const status = el("div", { class: "status", role: "status" });
  const inputs = description.inputs.map((input) => {
    const id = `field-${input.name}`;
    const error = el("p", { class: "error", id: `${id}-error`, hidden: true });
    const control = el("input", {
      type: "text",
      id,
      name: input.name,
      required: true,
      maxlength: input.max_length,
      autocomplete: "off",
      spellcheck: "false",
      autocapitalize: "off",
      "aria-describedby": `${id}-error`,
    });
    const container = el("div", { class: "field" },
      el("label", { for: id },
        bind(el("span", { class: "label-text" }), input.label, { fallback: input.name }), " ",
        bind(el("span", { class: "badge required" }), UI.required)),
      error, control);
    fields.set(input.name, { container, error, controls: [control] });
    return container;
  });
  const buttonText = bind(el("span"), TEXT.submit);
  const button = el("button", { type: "submit", class: "primary" }, buttonText);
  const clear = bind(el("button", { type: "button", class: "secondary" }), TEXT.clear);
  // POST: a form without a script would still never put the inputs in the address.
  const form = el("form", { method: "post", novalidate: true, "aria-describedby": "intro" },
    ...inputs, el("div", { class: "actions" }, button, clear));
  const results = el("section", { class: "results", hidden: true, "aria-labelledby": "results-title" });
  page.replaceChildren(intro, problems, form, status, results);

  // What was typed, kept in memory only for the download buttons (each runs the lookup again).
  let lastInputs = null;
  const wipe = () => {
    fields.forEach((field) => { field.controls[0].value = ""; });
    clearFieldErrors(fields);
    say(problems, "");
    say(status, "");
    results.hidden = true;
    results.replaceChildren();
    lastInputs = null;
  };
  clear.addEventListener("click", () => {
    wipe();
    fields.values().next().value?.controls[0].focus();
  });
  // Leaving the page (or the back-forward cache keeping it) takes nothing typed along.
  addEventListener("pagehide", wipe);

  let sending = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (sending) return;
    sending = true;
    button.setAttribute("aria-disabled", "true");
    bind(buttonText, TEXT.searching);
    clearFieldErrors(fields);
    say(problems, "");
    results.hidden = true;
    results.replaceChildren();
    const body = Object.fromEntries([...fields].map(([input, field]) => [input, field.controls[0].value]));
    lastInputs = body;
    try {
      const answer = await postWithRetry(endpoint("lookups", name), body, {}, (seconds) => {
        say(status, pick(UI.busy, seconds));
        return (left) => bind(buttonText, UI.waiting, { n: left });
      });
      say(status, "");
      const { status: code, body: reply } = answer;
      if (code === 200 && Array.isArray(reply?.records)) {
        showRecords(reply.records);
      } else if (code === 404) {
        // Every kind of miss is one answer, and so one message.
        say(problems, pick(TEXT.notFound));
      } else if (code === 400 && reply?.error?.code === "invalid_input") {
        showFieldErrors(problems, reply.error, fields, labelOf);
      } else if (code === 429 && reply?.error?.code === "too_many_attempts") {
        // Past the limit of misses: the relay's message says to wait, in the page's language.
        say(problems, reply.error.message);
      } else if (code === 429 || code === 503) {
        say(problems, pick(UI.busyGaveUp));
      } else {
        say(problems, reply?.error?.message ?? pick(UI.unexpected, code));
      }
    } catch {
      say(status, "");
      say(problems, pick(UI.network));
    } finally {
      sending = false;
      button.setAttribute("aria-disabled", "false");
      bind(buttonText, TEXT.submit);
    }
  });

  let lastRecords = null;
  onLanguageChange(() => {
    if (lastRecords && !results.hidden) showRecords(lastRecords, false);
  });

  function showRecords(records, focus = true) {
    lastRecords = records;
    const heading = bind(el("h2", { id: "results-title", tabindex: "-1" }), TEXT.results);
    const count = bind(el("p", { class: "count" }), TEXT.found, { n: records.length });
    // Explicit roles keep the table a table to screen readers when CSS turns rows into cards.
    const header = el("tr", { role: "row" }, ...description.outputs.map((output) =>
      bind(el("th", { scope: "col", role: "columnheader" }), output.label, { fallback: output.name })));
    const rows = records.map((record, r) => el("tr", { role: "row" }, ...description.outputs.map((output) =>
      el("td", { role: "cell" },
        bind(el("span", { class: "cell-label", "aria-hidden": "true" }), output.label, { fallback: output.name }),
        el("span", { class: "cell-value" }, output.shape === "files"
          ? downloadButtons(name, () => lastInputs, record[output.name], r, output.name, (text) => say(problems, text))
          : showValue(record[output.name], output))))));
    const table = el("table", { class: "records", role: "table", "aria-labelledby": "results-title" },
      el("thead", { role: "rowgroup" }, header),
      el("tbody", { role: "rowgroup" }, ...rows));
    results.replaceChildren(heading, count, table);
    results.hidden = false;
    if (focus) heading.focus();
  }
}

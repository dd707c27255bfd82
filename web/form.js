// form.html?form=<name>: renders any form from its description (GET /forms/<name>) and posts it.
import {
  UI,
  bind,
  clearFieldErrors,
  config,
  describe,
  el,
  endpoint,
  pick,
  postWithRetry,
  say,
  setUpPage,
  showFieldErrors,
  startPage,
} from "./relay.js";
import { forgetUploads, prepareFiles, renderFileField } from "./files.js";

const TEXT = {
  done: { ja: "お申し込みを受け付けました", en: "Your application has been received" },
  receipt: { ja: "受付番号", en: "Receipt number" },
  receiptHelp: {
    ja: "お問い合わせの際は、この受付番号をお伝えください。メモを取るか、この画面を保存してください。",
    en: "Please quote this number if you contact us. Write it down or keep a screenshot of this page.",
  },
  copy: { ja: "受付番号をコピー", en: "Copy the number" },
  copied: { ja: "コピーしました。", en: "Copied." },
  again: { ja: "別の申し込みをする", en: "Send another application" },
};

// Where the browser's autofill may help: input name -> autocomplete token.
const AUTOCOMPLETE = {
  name: "name",
  full_name: "name",
  kana: "off",
  company: "organization",
  organization: "organization",
  organisation: "organization",
  zip: "postal-code",
  postal_code: "postal-code",
  postcode: "postal-code",
  address: "street-address",
};

/** A key for one filled-in form: every retry and every click of it sends the same. */
function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // Outside a secure context (plain http to a host other than localhost) there is no randomUUID.
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** `2026-04-01T09:00` from a datetime-local input, with this browser's UTC offset. */
function withOffset(local) {
  const date = new Date(local);
  if (!local || Number.isNaN(date.getTime())) return local;
  const minutes = -date.getTimezoneOffset();
  const abs = Math.abs(minutes);
  const offset = `${minutes >= 0 ? "+" : "-"}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
  return `${local.length === 16 ? `${local}:00` : local}${offset}`;
}

setUpPage();
const title = document.getElementById("title");
const page = document.getElementById("page");
startPage("form", render);

/**
 * The captcha providers' widget scripts, loaded only for a form whose description has
 * `captcha`. All three render explicitly into an element, call `callback` with a single-use
 * token, and have `reset(widgetId)`. A site that sets a Content-Security-Policy must allow the
 * provider's origins in script-src and frame-src.
 */
const CAPTCHA_PROVIDERS = {
  turnstile: { script: "https://challenges.cloudflare.com/turnstile/v0/api.js", global: "turnstile" },
  recaptcha: { script: "https://www.google.com/recaptcha/api.js", global: "grecaptcha" },
  hcaptcha: { script: "https://js.hcaptcha.com/1/api.js", global: "hcaptcha" },
};

/** Shows the provider's widget in `container`; returns `{token(), reset()}`. */
function renderCaptcha(captcha, container) {
  const provider = CAPTCHA_PROVIDERS[captcha.provider];
  let token = "";
  let widget = null;
  if (!provider) return { token: () => "", reset() {} };
  const ready = `relayCaptchaReady${Math.random().toString(36).slice(2)}`;
  window[ready] = () => {
    widget = window[provider.global].render(container, {
      sitekey: captcha.site_key,
      callback: (value) => { token = value; },
      "expired-callback": () => { token = ""; },
    });
  };
  const script = el("script", { src: `${provider.script}?render=explicit&onload=${ready}`, async: true });
  document.head.append(script);
  return {
    token: () => token,
    reset() {
      token = "";
      if (widget !== null) window[provider.global].reset(widget);
    },
  };
}

/** One input's label, help, error and control(s); registers it in `fields`. */
function renderField(field, fields) {
  const id = `field-${field.name}`;
  const helpId = field.help ? `${id}-help` : null;
  const errorId = `${id}-error`;
  const described = [helpId, errorId].filter(Boolean).join(" ");
  const badge = bind(el("span", { class: `badge ${field.required ? "required" : "optional"}` }),
    field.required ? UI.required : UI.optional);
  const labelText = () => bind(el("span", { class: "label-text" }), field.label, { fallback: field.name });
  const help = field.help ? bind(el("p", { class: "help", id: helpId }), field.help) : null;
  const error = el("p", { class: "error", id: errorId, hidden: true });

  // A honeypot: kept out of sight, out of the tab order, from screen readers and from autofill.
  if (config.honeypots?.includes(field.name)) {
    const input = el("input", { type: "text", id, name: field.name, tabindex: "-1", autocomplete: "off" });
    const container = el("div", { class: "hp", "aria-hidden": "true" },
      el("label", { for: id, text: field.name }), input);
    fields.set(field.name, { container, error, controls: [input], read: () => input.value, reset: () => { input.value = ""; } });
    return container;
  }

  if (field.type === "file") {
    return renderFileField(field, fields, { id, described: described || undefined, labelText, badge, help, error });
  }

  const grouped = ["choices", "consent"].includes(field.type)
    || (field.type === "choice" && (field.options?.length ?? 0) <= 6);
  if (grouped) {
    const multiple = field.type !== "choice";
    const options = field.type === "consent" ? [field.options?.[0] ?? "true"] : field.options ?? [];
    const controls = options.map((option, i) =>
      el("input", {
        type: multiple ? "checkbox" : "radio",
        id: `${id}-${i}`,
        name: field.name,
        value: option,
        required: field.required && field.type !== "choices",
        "aria-describedby": described,
      }));
    const choices = el("div", { class: multiple && field.type !== "consent" ? "choices" : "choices inline" },
      ...controls.map((control, i) => {
        const text = field.type === "consent"
          ? bind(el("span"), (l) => (l === "en" ? UI.agree.en : options[i]))
          : el("span", { text: options[i] });
        return el("label", { class: "choice", for: control.id }, control, text);
      }));
    const container = el("fieldset", { class: "field" },
      el("legend", {}, labelText(), " ", badge), help, error, choices);
    const read = {
      choice: () => controls.find((c) => c.checked)?.value ?? null,
      choices: () => controls.filter((c) => c.checked).map((c) => c.value),
      consent: () => controls[0].checked,
    }[field.type];
    fields.set(field.name, { container, error, controls, read, reset: () => controls.forEach((c) => { c.checked = false; }) });
    return container;
  }

  let control;
  if (field.type === "choice") {
    const placeholder = bind(el("option", { value: "" }), UI.choose);
    control = el("select", { id, name: field.name }, placeholder,
      ...field.options.map((option) => el("option", { value: option, text: option })));
  } else if (field.type === "multiline") {
    control = el("textarea", { id, name: field.name, rows: 5, maxlength: field.max_length });
  } else {
    const integer = Number.isInteger(field.min ?? 0) && Number.isInteger(field.max ?? 0);
    const attributes = {
      text: { type: "text", autocomplete: AUTOCOMPLETE[field.name] },
      email: { type: "email", autocomplete: "email", inputmode: "email", spellcheck: "false", autocapitalize: "off" },
      tel: { type: "tel", autocomplete: "tel", inputmode: "tel" },
      url: { type: "url", autocomplete: "url", inputmode: "url", spellcheck: "false", autocapitalize: "off" },
      // Text, not type=number: full-width digits are accepted by the relay, and no spinner.
      number: { type: "text", inputmode: integer ? "numeric" : "decimal", autocomplete: "off" },
      date: { type: "date" },
      datetime: { type: "datetime-local" },
    }[field.type] ?? { type: "text" };
    control = el("input", { id, name: field.name, maxlength: field.max_length, ...attributes });
  }
  control.required = field.required;
  if (described) control.setAttribute("aria-describedby", described);
  const container = el("div", { class: "field" },
    el("label", { for: id }, labelText(), " ", badge), help, error, control);
  const read = field.type === "datetime" ? () => withOffset(control.value) : () => control.value;
  fields.set(field.name, { container, error, controls: [control], read, reset: () => { control.value = ""; } });
  return container;
}

function render(name, description) {
  bind(title, description.title, { fallback: name });
  bind(document.querySelector("title"), description.title, { fallback: name });
  const fields = new Map();
  const labels = new Map(description.fields.map((f) => [f.name, f.label]));
  const labelOf = (input) => pick(labels.get(input), undefined, input);

  const note = bind(el("p", { class: "note", id: "required-note" }), UI.requiredNote);
  const problems = el("div", { class: "problems", role: "alert" });
  const status = el("div", { class: "status", role: "status" });
  const buttonText = bind(el("span"), UI.send);
  const button = el("button", { type: "submit", class: "primary" }, buttonText);
  // POST, so that nothing typed can ever land in the address if the script did not run.
  const captchaBox = el("div", { class: "captcha" });
  const form = el("form", { method: "post", novalidate: true, "aria-describedby": "required-note" },
    ...description.fields.map((field) => renderField(field, fields)),
    ...(description.captcha ? [captchaBox] : []),
    el("div", { class: "actions" }, button));
  const done = el("section", { class: "done", hidden: true, "aria-labelledby": "done-title" });
  page.replaceChildren(note, problems, form, status, done);

  const captcha = description.captcha ? renderCaptcha(description.captcha, captchaBox) : null;
  let key = newKey();
  // The description's stamp (a form with min_fill_seconds): the time the page was given.
  let stamp = description.stamp;
  let sending = false;
  const setSending = (on) => {
    sending = on;
    // aria-disabled, not disabled: a disabled button drops the keyboard focus to the page.
    button.setAttribute("aria-disabled", String(on));
    bind(buttonText, on ? UI.sending : UI.send);
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (sending) return; // a double click, or Enter pressed twice: one request
    setSending(true);
    clearFieldErrors(fields);
    say(problems, "");
    // Files first: each is uploaded once and its handle goes in the body.
    let uploadProblems;
    try {
      uploadProblems = await prepareFiles(fields, name, (text) => say(status, text));
    } catch {
      uploadProblems = null;
      say(status, "");
      say(problems, pick(UI.network));
      setSending(false);
      return;
    }
    say(status, "");
    if (uploadProblems) {
      showFieldErrors(problems, { fields: uploadProblems }, fields, labelOf);
      setSending(false);
      return;
    }
    const body = Object.fromEntries([...fields].map(([input, field]) => [input, field.read()]));
    const send = () => postWithRetry(endpoint("forms", name), body,
      {
        "Idempotency-Key": key,
        ...(stamp ? { "X-Relay-Stamp": stamp } : {}),
        ...(captcha ? { "X-Captcha-Token": captcha.token() } : {}),
      },
      (seconds) => {
        say(status, pick(UI.busy, seconds));
        return (left) => bind(buttonText, UI.waiting, { n: left });
      });
    try {
      let answer = await send();
      if (answer.status === 400 && answer.body?.error?.code === "invalid_stamp") {
        // A page left open over a day: a new stamp, and the same answers sent once more.
        stamp = (await describe("forms", name)).stamp;
        answer = await send();
      }
      say(status, "");
      const { status: code, body: reply } = answer;
      if ((code === 201 || code === 202) && reply?.receipt) {
        showReceipt(reply.receipt);
      } else if (code === 400 && reply?.error?.code === "invalid_input") {
        forgetUploads(fields, reply.error.fields);
        showFieldErrors(problems, reply.error, fields, labelOf);
      } else if (code === 400 && reply?.error?.code === "captcha_failed") {
        // The provider's tokens are single-use: a fresh check for the next try.
        captcha?.reset();
        say(problems, reply.error.message);
      } else if (code === 429 && reply?.error?.code === "too_many_attempts") {
        say(problems, reply.error.message);
      } else if (code === 429 || code === 503) {
        say(problems, pick(UI.busyGaveUp));
      } else {
        say(problems, reply?.error?.message ?? pick(UI.unexpected, code));
      }
    } catch {
      // No answer: the record may or may not be in; the same key makes sending again safe.
      say(status, "");
      say(problems, pick(UI.network));
    } finally {
      setSending(false);
    }
  });

  function showReceipt(receipt) {
    const heading = bind(el("h2", { id: "done-title", tabindex: "-1" }), TEXT.done);
    // Read aloud character by character, in the groups it is printed in.
    const spoken = receipt.split("-").map((group) => [...group].join(" ")).join(", ");
    const copied = el("p", { class: "status", role: "status" });
    const copy = bind(el("button", { type: "button", class: "secondary" }), TEXT.copy);
    copy.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(receipt);
        say(copied, pick(TEXT.copied));
      } catch {
        copy.hidden = true;
      }
    });
    if (!navigator.clipboard) copy.hidden = true;
    const again = bind(el("button", { type: "button", class: "secondary" }), TEXT.again);
    again.addEventListener("click", () => {
      fields.forEach((field) => field.reset());
      key = newKey(); // a new application
      captcha?.reset();
      done.hidden = true;
      done.replaceChildren();
      note.hidden = false;
      form.hidden = false;
      [...fields.values()].find((f) => !f.container.classList.contains("hp"))?.controls[0].focus();
    });
    done.replaceChildren(
      heading,
      bind(el("p", { class: "receipt-label", id: "receipt-label" }), TEXT.receipt),
      el("p", { class: "receipt", id: "receipt", "aria-hidden": "true", text: receipt }),
      el("p", { class: "visually-hidden" }, spoken),
      bind(el("p", { class: "help" }), TEXT.receiptHelp),
      el("div", { class: "actions" }, copy, again),
      copied,
    );
    note.hidden = true;
    form.hidden = true;
    done.hidden = false;
    heading.focus();
  }
}


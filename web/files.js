// Attachments on the pages: a form's file inputs (checked here, uploaded one by one to
// POST /forms/<form>/files/<input> when the form is sent, their handles sent with it) and a
// lookup's download buttons (POST /lookups/<lookup>/files with the same inputs again). The
// relay's checks are the ones that count; these only spare a person a useless upload.
import { bind, config, el, lang, pick } from "./relay.js";

const TEXT = {
  tooLarge: { ja: "ファイルが大きすぎます（上限 {n} MB）。", en: "The file is too large (limit {n} MB)." },
  wrongType: { ja: "この種類のファイルは送信できません。", en: "This kind of file is not accepted." },
  tooMany: { ja: "ファイルは {n} 個までです。", en: "At most {n} files can be sent." },
  uploading: { ja: "ファイルを送信中…", en: "Uploading the file…" },
  badName: {
    ja: "このファイル名は送信できません。名前を変えてから選び直してください。",
    en: "This file name cannot be sent. Please rename the file and choose it again.",
  },
  download: { ja: "ダウンロード", en: "Download" },
  downloadFailed: {
    ja: "ダウンロードできませんでした。もう一度確認してからお試しください。",
    en: "The file could not be downloaded. Please look up again and retry.",
  },
};

// The leading bytes of each type the relay recognises (shared/src/files/kind.rs).
const SIGNATURES = {
  "application/pdf": [[0x25, 0x50, 0x44, 0x46, 0x2d]],
  "image/png": [[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]],
  "image/jpeg": [[0xff, 0xd8, 0xff]],
  "image/gif": [[0x47, 0x49, 0x46, 0x38, 0x37, 0x61], [0x47, 0x49, 0x46, 0x38, 0x39, 0x61]],
};

async function sniff(file) {
  const bytes = new Uint8Array(await file.slice(0, 12).arrayBuffer());
  const starts = (signature) => signature.every((b, i) => bytes[i] === b);
  for (const [type, signatures] of Object.entries(SIGNATURES)) {
    if (signatures.some(starts)) return type;
  }
  const ascii = (from, to) => String.fromCharCode(...bytes.slice(from, to));
  if (ascii(0, 4) === "RIFF" && ascii(8, 12) === "WEBP") return "image/webp";
  return null;
}

/** The name as X-File-Name carries it; null for a name no header can (a lone surrogate). */
function encodedName(file) {
  try {
    return encodeURIComponent(file.name);
  } catch {
    return null;
  }
}

const megabytes = (bytes) => (bytes / 1_000_000).toFixed(1);

/** What is wrong with the chosen files, as the page says it; null when nothing. */
async function problemOf(field, files) {
  if (files.length > (field.max_files ?? 1)) return pick(TEXT.tooMany, field.max_files ?? 1);
  for (const file of files) {
    if (encodedName(file) === null) return pick(TEXT.badName);
    if (file.size > field.max_bytes) return pick(TEXT.tooLarge, megabytes(field.max_bytes));
    if (!(field.accept ?? []).includes(await sniff(file))) return pick(TEXT.wrongType);
  }
  return null;
}

/** A file input: `parts` are the label, badge, help and error the form page made for it. */
export function renderFileField(field, fields, { id, described, labelText, badge, help, error }) {
  const control = el("input", {
    type: "file",
    id,
    name: field.name,
    accept: (field.accept ?? []).join(","),
    multiple: (field.max_files ?? 1) > 1,
    "aria-describedby": described,
  });
  control.required = field.required;
  const container = el("div", { class: "field" },
    el("label", { for: id }, labelText(), " ", badge), help, error, control);
  // A file's handle, kept until the file is changed, so a retry does not upload it again.
  let uploaded = new Map();
  const showError = (message) => {
    error.textContent = message ?? "";
    error.hidden = !message;
    container.classList.toggle("invalid", Boolean(message));
    if (message) control.setAttribute("aria-invalid", "true");
    else control.removeAttribute("aria-invalid");
  };
  control.addEventListener("change", async () => {
    uploaded = new Map();
    showError(await problemOf(field, [...control.files]));
  });
  fields.set(field.name, {
    container,
    error,
    controls: [control],
    read: () => [...control.files].map((file) => uploaded.get(file)).filter(Boolean),
    reset: () => { control.value = ""; uploaded = new Map(); },
    // Uploads the chosen files; the relay's refusal of one, or null.
    async prepare(formName, onStatus) {
      const files = [...control.files];
      const problem = await problemOf(field, files);
      if (problem) return { [field.name]: problem };
      for (const file of files) {
        if (uploaded.has(file)) continue;
        onStatus(pick(TEXT.uploading));
        const answer = await upload(formName, field.name, file);
        if (answer.status !== 201 || !answer.body?.file) {
          return { [field.name]: answer.body?.error?.fields?.[field.name] ?? answer.body?.error?.message ?? pick(TEXT.wrongType) };
        }
        uploaded.set(file, answer.body.file);
      }
      return null;
    },
    forget: () => { uploaded = new Map(); },
  });
  return container;
}

async function upload(formName, input, file) {
  const base = String(config.forms).replace(/\/+$/, "");
  const url = `${base}/forms/${encodeURIComponent(formName)}/files/${encodeURIComponent(input)}`;
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "Content-Type": file.type || "application/octet-stream",
      "Accept-Language": lang,
      "X-File-Name": encodedName(file),
    },
    body: file,
    credentials: "omit",
    cache: "no-store",
    referrerPolicy: "no-referrer",
  });
  let body = null;
  try {
    body = await response.json();
  } catch {
    // A gateway's page: the status says enough.
  }
  return { status: response.status, body };
}

/**
 * Uploads every file input's files before the form is sent. Returns the problems by input
 * (for showFieldErrors), or null when every file has its handle.
 */
export async function prepareFiles(fields, formName, onStatus) {
  for (const field of fields.values()) {
    if (!field.prepare) continue;
    const problems = await field.prepare(formName, onStatus);
    if (problems) return problems;
  }
  return null;
}

/** After the relay refused a handle (expired, say), the next send uploads the files again. */
export function forgetUploads(fields, refused) {
  for (const name of Object.keys(refused ?? {})) fields.get(name)?.forget?.();
}

/** The RFC 5987 name in a Content-Disposition header, or null. */
function savedName(disposition) {
  const encoded = /filename\*=UTF-8''([^;]+)/i.exec(disposition ?? "")?.[1];
  if (!encoded) return null;
  try {
    return decodeURIComponent(encoded);
  } catch {
    return null;
  }
}

/**
 * One download button per file of a "files" output. `inputs()` gives what was typed for the
 * lookup: the relay runs the lookup again for every download, so there is no link to keep.
 */
export function downloadButtons(lookupName, inputs, files, record, output, onError) {
  const list = el("ul", { class: "files" });
  (Array.isArray(files) ? files : []).forEach((file, index) => {
    const button = el("button", { type: "button", class: "secondary download" },
      bind(el("span"), TEXT.download), " ", el("span", { text: file.name }));
    button.addEventListener("click", async () => {
      button.setAttribute("aria-disabled", "true");
      try {
        const base = String(config.lookups).replace(/\/+$/, "");
        const response = await fetch(`${base}/lookups/${encodeURIComponent(lookupName)}/files`, {
          method: "POST",
          headers: { "Content-Type": "application/json", "Accept-Language": lang },
          body: JSON.stringify({ ...inputs(), record, output, file: index }),
          credentials: "omit",
          cache: "no-store",
          referrerPolicy: "no-referrer",
        });
        if (!response.ok) {
          onError(pick(TEXT.downloadFailed));
          return;
        }
        const blob = await response.blob();
        const url = URL.createObjectURL(blob);
        // The name of the file the relay sent, which is the one the record holds now.
        const name = savedName(response.headers.get("Content-Disposition")) ?? file.name;
        const link = el("a", { href: url, download: name, hidden: true });
        document.body.append(link);
        link.click();
        link.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10_000);
      } catch {
        onError(pick(TEXT.downloadFailed));
      } finally {
        button.setAttribute("aria-disabled", "false");
      }
    });
    list.append(el("li", {}, button));
  });
  return list;
}

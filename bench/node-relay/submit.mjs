// POST /forms/{form}: validate a public form's JSON against relay.toml and add one record with
// the form's add-only token. The same rules as functions/submit.
import {
  ApiError, Problem, checkRequest, classify, config, errorResponse, json, log, parseField, preflight,
  randomReceipt, receiptForKey, responseContext, routeName, withKintone,
} from "./relay.mjs";

const DUPLICATE_MESSAGES = ["値がほかのレコードと重複しています。", "This value already exists in another record."];

function fieldCodeOfErrorKey(key) {
  const bracket = /^record\[([^\]]+)\]/.exec(key);
  if (bracket) return bracket[1];
  const dotted = /^record\.(.+?)\.values?(\.|\[|$)/.exec(key);
  return dotted ? dotted[1] : null;
}

function validate(form, inputs) {
  const errors = {};
  for (const name of Object.keys(inputs)) {
    if (!(name in form.fields) && name !== form.honeypot) errors[name] = new Problem("unknown_field");
  }
  const record = {};
  for (const [name, field] of Object.entries(form.fields)) {
    try {
      const value = parseField(field, inputs[name]);
      if (value !== null) record[field.kintone] = { value };
      else if (field.required) errors[name] = new Problem(field.type === "consent" ? "consent_required" : "required");
    } catch (problem) {
      if (!(problem instanceof Problem)) throw problem;
      errors[name] = problem;
    }
  }
  if (Object.keys(errors).length) throw new ApiError("invalid_input", { fields: errors });
  for (const [code, value] of Object.entries(form.fixed ?? {})) record[code] = { value };
  const bait = form.honeypot ? inputs[form.honeypot] : undefined;
  const isBot = !(bait === undefined || bait === null || bait === false || (typeof bait === "string" && bait.trim() === ""));
  return { record, isBot };
}

async function respond(event, ctx, path) {
  const form = config.forms?.[routeName(path, "forms")];
  if (!form) throw new ApiError("not_found");
  form.max_body_bytes ??= 65536;
  const inputs = checkRequest(event, ctx, form);
  if (inputs === null) return { outcome: "preflight", response: preflight(ctx) };
  const key = event.headers?.["idempotency-key"];
  let idempotencyKey = null;
  if (key !== undefined && form.idempotency_field) {
    if (!/^[A-Za-z0-9_-]{32,64}$/.test(key)) throw new ApiError("invalid_idempotency_key");
    idempotencyKey = key;
  }
  const { record, isBot } = validate(form, inputs);
  const receipt = idempotencyKey ? receiptForKey(form.name, idempotencyKey) : randomReceipt();
  const created = (outcome) => ({ outcome, response: json(ctx, 201, { status: "created", receipt }) });
  if (isBot) return created("honeypot");
  if (form.receipt_field) record[form.receipt_field] = { value: receipt };
  if (idempotencyKey) record[form.idempotency_field] = { value: idempotencyKey };

  const started = Date.now();
  try {
    const { id } = await withKintone(form.token_secret, (client) => client.record.addRecord({ app: form.app, record }));
    log("INFO", "record added", { form: form.name, app: form.app, record_id: id, kintone_ms: Date.now() - started });
    return created("created");
  } catch (error) {
    const { code, retryAfter } = classify(error);
    if (code !== "refused") {
      log("ERROR", "kintone call failed", { form: form.name, app: form.app, error: String(error?.message ?? error) });
      throw new ApiError(code, { retryAfter });
    }
    const entries = Object.entries(error.errors ?? {});
    log("WARN", "kintone refused the record", { form: form.name, app: form.app, code: error.code, id: error.id, error_keys: entries.map(([k]) => k) });
    const isReplay = ([errorKey, detail]) =>
      idempotencyKey &&
      fieldCodeOfErrorKey(errorKey) === form.idempotency_field &&
      (detail?.messages ?? []).some((m) => DUPLICATE_MESSAGES.includes(m.trim()));
    if (entries.some(isReplay)) return created("replayed");
    const fields = {};
    for (const [errorKey, detail] of entries) {
      const code = fieldCodeOfErrorKey(errorKey);
      const input = Object.entries(form.fields).find(([, f]) => f.kintone === code)?.[0];
      if (!input) throw new ApiError("misconfigured");
      fields[input] = new Problem("refused_by_kintone", { detail: (detail?.messages ?? []).join(" ") });
    }
    if (!Object.keys(fields).length) throw new ApiError("misconfigured");
    throw new ApiError("invalid_input", { fields });
  }
}

for (const [name, form] of Object.entries(config.forms ?? {})) form.name = name;

export const handler = async (event, context) => {
  const started = Date.now();
  const ctx = responseContext(event, context);
  const path = event.rawPath ?? event.requestContext?.http?.path;
  const formName = routeName(path, "forms") ?? "";
  try {
    const { outcome, response } = await respond(event, ctx, path);
    log("INFO", "submit", { form: formName, status: response.statusCode, outcome, elapsed_ms: Date.now() - started });
    return response;
  } catch (error) {
    if (!(error instanceof ApiError)) {
      log("ERROR", "unexpected error", { error: String(error?.stack ?? error) });
      error = new ApiError("internal");
    }
    const response = errorResponse(ctx, error);
    log("INFO", "submit", { form: formName, status: response.statusCode, outcome: error.code, fields: Object.keys(error.fields ?? {}), elapsed_ms: Date.now() - started });
    return response;
  }
};
